#include "TargetPolicy.h"

#include "net/StreamSocket.h"

namespace wstunnel {

ChannelEndpoint *TargetPolicy::createEndpoint(ChannelTransport transport)
{
    return transport == ChannelTransport::Tcp ? new StreamSocket : nullptr;
}

} // namespace wstunnel
