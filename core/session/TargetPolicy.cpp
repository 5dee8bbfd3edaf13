#include "TargetPolicy.h"

#include "net/DatagramSocket.h"
#include "net/StreamSocket.h"

namespace wstunnel {

ChannelEndpoint *TargetPolicy::createEndpoint(ChannelTransport transport)
{
    switch (transport) {
    case ChannelTransport::Tcp:
        return new StreamSocket;
    case ChannelTransport::Udp:
        return new DatagramSocket;
    }
    return nullptr;
}

} // namespace wstunnel
