#include "RemoteConfig.h"

namespace wstunnel {

ClientSettings RemoteConfig::toClientSettings() const
{
    ClientSettings settings;
    static_cast<ConnectionSettings &>(settings) = *this;
    return settings;
}

bool RemoteConfig::operator==(const RemoteConfig &other) const
{
    return id == other.id && name == other.name && builtIn == other.builtIn &&
           ConnectionSettings::operator==(other);
}

} // namespace wstunnel
