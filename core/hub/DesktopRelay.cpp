#include "DesktopRelay.h"

#include "AgentRegistry.h"
#include "ChannelRelay.h"
#include "Logging.h"
#include "RelayEndpoint.h"
#include "config/ForwardSpec.h"
#include "session/TunnelSession.h"

namespace wstunnel {

DesktopRelay::DesktopRelay(TunnelSession *session, const QString &agentName,
                           AgentRegistry *registry)
    : QObject(session)
    , m_session(session)
    , m_agentName(agentName)
    , m_registry(registry)
{
    connect(session, &TunnelSession::ready, this, [this] {
        useAgent(m_registry->active(m_agentName));
        announce();
    });
    connect(registry, &AgentRegistry::activeChanged, this, [this](const QString &name) {
        if (name != m_agentName || !m_session->isReady())
            return;
        useAgent(m_registry->active(m_agentName));
        announce();
    });
    connect(session, &TunnelSession::listenRequested, this, &DesktopRelay::onListenRequested);
    connect(session, &TunnelSession::unlistenRequested, this, &DesktopRelay::onUnlistenRequested);
    connect(session, &TunnelSession::closed, this, [this] {
        for (Listen &listen : m_listens)
            dropFromAgent(listen);
        m_listens.clear();
        useAgent(nullptr);
    });
}

std::shared_ptr<TargetPolicy> DesktopRelay::policy()
{
    return std::shared_ptr<TargetPolicy>(std::shared_ptr<void>(), this);
}

ChannelEndpoint *DesktopRelay::createEndpoint(ChannelTransport transport)
{
    return ChannelRelay::createInboundEndpoint(transport);
}

void DesktopRelay::resolve(const QString &host, quint16 port, ChannelTransport transport,
                           QObject *context, Callback done)
{
    // The channel's endpoint, made for its transport, decides what the relay opens on the agent.
    Q_UNUSED(transport)
    TunnelSession *agent = m_registry->active(m_agentName);
    if (!agent) {
        done(TargetResolution{
            {},
            port,
            FailureCode::Unreachable,
            QStringLiteral("no agent named %1 is connected to the hub").arg(m_agentName)});
        return;
    }
    ChannelRelay::open(context, agent, describe(agent), host, port, done);
}

void DesktopRelay::announce()
{
    // Older desktops do not know the message; only a desktop of version 3 names an agent anyway.
    if (m_session->version() < protocol::kCapabilitiesVersion)
        return;
    const TunnelSession *agent = m_registry->active(m_agentName);
    m_session->sendAgentStatus(agent ? AgentState::Active : AgentState::Absent, m_agentName,
                               agent ? agent->peerAddress() : QString());
}

void DesktopRelay::useAgent(TunnelSession *agent)
{
    if (m_agent == agent)
        return;
    for (Listen &listen : m_listens)
        dropFromAgent(listen);
    if (m_agent)
        m_agent->disconnect(this);
    m_agent = agent;
    if (!agent)
        return;
    connect(agent, &TunnelSession::listenAnswered, this, &DesktopRelay::onAgentAnswered);
    for (qsizetype i = 0; i < m_listens.size();) {
        if (requestOnAgent(m_listens[i]))
            ++i;
        else
            m_listens.removeAt(i);
    }
}

bool DesktopRelay::requestOnAgent(Listen &listen)
{
    // After a failover, the port the desktop was told, so that it stays the same where it can.
    const quint16 port = listen.answered ? listen.desktopPort : listen.requestedPort;
    const quint32 id = m_agent->requestListen(listen.bindHost, port, listen.transport);
    if (id != 0) {
        listen.agent = m_agent;
        listen.agentRequestId = id;
        return true;
    }
    const bool udp = listen.transport == ChannelTransport::Udp;
    // An older agent takes TCP reverse forwards but announces no datagram channels.
    const QString reason =
        udp && m_agent->peerCapabilities().testFlag(Capability::AcceptsListen)
            ? QStringLiteral("%1 does not carry UDP").arg(describe(m_agent))
            : QStringLiteral("%1 does not accept reverse forwards").arg(describe(m_agent));
    qCWarning(lcServer).noquote() << QStringLiteral("reverse forward %1%2 of %3: %4")
                                         .arg(formatEndpoint(listen.bindHost, port),
                                              udp ? QStringLiteral("/udp") : QString(),
                                              m_session->peerAddress(), reason);
    if (listen.answered)
        return true;
    m_session->refuseListen(listen.desktopRequestId, FailureCode::NotAllowed, reason);
    return false;
}

void DesktopRelay::dropFromAgent(Listen &listen)
{
    if (listen.agent && listen.agentRequestId != 0)
        listen.agent->cancelListen(listen.agentRequestId);
    if (listen.agentPort != 0)
        m_registry->removeRoute(listen.agent, listen.bindHost, listen.agentPort, listen.transport);
    listen.agent = nullptr;
    listen.agentRequestId = 0;
    listen.agentPort = 0;
}

void DesktopRelay::onListenRequested(quint32 requestId, const QString &bindHost, quint16 port,
                                     ChannelTransport transport)
{
    m_listens.append(Listen{requestId, bindHost, port, transport, false, 0, nullptr, 0, 0});
    // Without an active agent, the request waits for one; the desktop's forward stays pending.
    if (m_agent && !requestOnAgent(m_listens.last()))
        m_listens.removeLast();
}

void DesktopRelay::onUnlistenRequested(quint32 requestId)
{
    for (qsizetype i = 0; i < m_listens.size(); ++i) {
        if (m_listens.at(i).desktopRequestId == requestId) {
            dropFromAgent(m_listens[i]);
            m_listens.removeAt(i);
            return;
        }
    }
}

void DesktopRelay::onAgentAnswered(quint32 agentRequestId, bool ok, quint16 port,
                                   const QString &reason)
{
    for (qsizetype i = 0; i < m_listens.size(); ++i) {
        Listen &listen = m_listens[i];
        if (listen.agent != m_agent || listen.agentRequestId != agentRequestId)
            continue;
        const QString endpoint =
            formatEndpoint(listen.bindHost, port) +
            (listen.transport == ChannelTransport::Udp ? QStringLiteral("/udp") : QString());
        if (!ok) {
            listen.agentRequestId = 0;
            const QString text = QStringLiteral("%1: %2").arg(describe(m_agent), reason);
            if (listen.answered) {
                qCWarning(lcServer).noquote() << QStringLiteral("reverse forward of %1 lost: %2")
                                                     .arg(m_session->peerAddress(), text);
                return;
            }
            m_session->refuseListen(listen.desktopRequestId, FailureCode::Refused, text);
            m_listens.removeAt(i);
            return;
        }
        listen.agentPort = port;
        if (!listen.answered) {
            listen.answered = true;
            listen.desktopPort = port;
            m_session->answerListen(listen.desktopRequestId, port);
        }
        m_registry->addRoute(m_agent, listen.bindHost, port, listen.transport, m_session,
                             listen.desktopPort);
        qCInfo(lcServer).noquote()
            << QStringLiteral("reverse forwarding %1 on %2 -> %3")
                   .arg(endpoint, describe(m_agent), m_session->peerAddress());
        return;
    }
}

QString DesktopRelay::describe(const TunnelSession *agent) const
{
    return QStringLiteral("agent %1 at %2").arg(m_agentName, agent->peerAddress());
}

} // namespace wstunnel
