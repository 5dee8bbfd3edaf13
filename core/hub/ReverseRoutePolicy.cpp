#include "ReverseRoutePolicy.h"

#include "AgentRegistry.h"
#include "ChannelRelay.h"
#include "RelayEndpoint.h"
#include "config/ForwardSpec.h"
#include "session/TunnelSession.h"

namespace wstunnel {

ReverseRoutePolicy::ReverseRoutePolicy(AgentRegistry *registry, TunnelSession *agent,
                                       const QString &agentName)
    : m_registry(registry)
    , m_agent(agent)
    , m_agentName(agentName)
{
}

ChannelEndpoint *ReverseRoutePolicy::createEndpoint(ChannelTransport transport)
{
    return ChannelRelay::createInboundEndpoint(transport);
}

void ReverseRoutePolicy::resolve(const QString &host, quint16 port, ChannelTransport transport,
                                 QObject *context, Callback done)
{
    const AgentRegistry::Route route = m_registry->route(m_agent, host, port, transport);
    if (!route.desktop || !route.desktop->isReady()) {
        done(TargetResolution{
            {},
            port,
            FailureCode::NotAllowed,
            QStringLiteral("no desktop asked agent %1 for a reverse forward on %2%3")
                .arg(m_agentName, formatEndpoint(host, port),
                     transport == ChannelTransport::Udp ? QStringLiteral("/udp") : QString())});
        return;
    }
    ChannelRelay::open(context, route.desktop,
                       QStringLiteral("desktop at %1").arg(route.desktop->peerAddress()), host,
                       route.desktopPort, done);
}

} // namespace wstunnel
