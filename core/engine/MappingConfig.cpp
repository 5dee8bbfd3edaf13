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
    spec.transport = protocol == Protocol::Udp ? ChannelTransport::Udp : ChannelTransport::Tcp;
    return spec;
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
