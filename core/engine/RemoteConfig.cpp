#include "RemoteConfig.h"

#include "hub/AgentName.h"

namespace wstunnel {

ClientSettings RemoteConfig::toClientSettings() const
{
    ClientSettings settings;
    static_cast<ConnectionSettings &>(settings) = *this;
    if (!agent.isEmpty())
        settings.headers.append({QByteArray(AgentName::kReachHeader), agent.toUtf8()});
    return settings;
}

bool RemoteConfig::operator==(const RemoteConfig &other) const
{
    return id == other.id && name == other.name && builtIn == other.builtIn &&
           agent == other.agent && ConnectionSettings::operator==(other);
}

} // namespace wstunnel
