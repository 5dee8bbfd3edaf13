#include "MappingConfig.h"

namespace wstunnel {

ForwardSpec MappingConfig::toSpec() const
{
    ForwardSpec spec;
    spec.direction = direction;
    spec.bindHost = bindHost;
    spec.bindPort = bindPort;
    spec.targetHost = targetHost;
    spec.targetPort = targetPort;
    // SOCKS carries TCP only (no UDP ASSOCIATE).
    spec.transport = protocol == Protocol::Udp && direction != ForwardSpec::Direction::Dynamic
                         ? ChannelTransport::Udp
                         : ChannelTransport::Tcp;
    return spec;
}

QString MappingConfig::targetEndpoint() const
{
    if (direction == ForwardSpec::Direction::Dynamic)
        return QStringLiteral("SOCKS");
    return formatEndpoint(targetHost, targetPort);
}

bool MappingConfig::sameForward(const MappingConfig &other) const
{
    return remoteId == other.remoteId && direction == other.direction &&
           protocol == other.protocol && bindHost == other.bindHost && bindPort == other.bindPort &&
           targetHost == other.targetHost && targetPort == other.targetPort &&
           enabled == other.enabled;
}

bool MappingConfig::operator==(const MappingConfig &other) const
{
    return id == other.id && name == other.name && sameForward(other);
}

} // namespace wstunnel
