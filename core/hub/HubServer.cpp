#include "HubServer.h"

#include "AgentName.h"
#include "DesktopRelay.h"
#include "Logging.h"
#include "ReverseRoutePolicy.h"
#include "channel/Channel.h"
#include "config/ForwardSpec.h"
#include "forward/ForwardListener.h"
#include "server/UpgradeRequest.h"
#include "session/TunnelSession.h"

#include <algorithm>

namespace wstunnel {

namespace {

QByteArray headerName(const char *name)
{
    return QByteArray(name).toLower();
}

QString stateName(AgentState state)
{
    return state == AgentState::Active ? QStringLiteral("active") : QStringLiteral("standby");
}

// The host of a session's peer address (HOST:PORT).
QString hostOf(const QString &peerAddress)
{
    QString host;
    quint16 port = 0;
    QString error;
    return parseEndpoint(peerAddress, &host, &port, &error) ? host : peerAddress;
}

} // namespace

HubServer::HubServer(const ServerSettings &settings, const TokenStore &tokens, QObject *parent)
    : TunnelServer(settings, tokens, AllowList(), parent)
{
    connect(&m_registry, &AgentRegistry::activeChanged, this, &HubServer::onActiveChanged);
}

std::optional<TunnelServer::Refusal> HubServer::admit(Identity &identity,
                                                      const UpgradeRequest &request) const
{
    const QString reach = QString::fromUtf8(request.header(headerName(AgentName::kReachHeader)));
    const QString registering =
        QString::fromUtf8(request.header(headerName(AgentName::kRegisterHeader)));
    const bool agent = identity.kind == Identity::Kind::Agent;
    if (!agent && reach.isEmpty() && registering.isEmpty() &&
        request.header(headerName(AgentName::kListHeader)) == AgentName::kListValue) {
        identity.listsAgents = true;
        return std::nullopt;
    }
    const QString name = agent ? registering : reach;
    if (agent && registering.isEmpty())
        return Refusal{403, "Forbidden",
                       QStringLiteral("%1 is an agent token, but the request registers no agent "
                                      "(desktops need a desktop token)")
                           .arg(identity.name)};
    if (!agent && !registering.isEmpty())
        return Refusal{403, "Forbidden",
                       QStringLiteral("%1 is a desktop token and may not register agent %2")
                           .arg(identity.name, registering)};
    if (!agent && reach.isEmpty())
        return Refusal{403, "Forbidden",
                       QStringLiteral("this is a hub: the desktop must name the agent to reach "
                                      "(wstunnel --agent NAME)")};
    if (!AgentName::isValid(name))
        return Refusal{400, "Bad Request",
                       QStringLiteral("'%1' is not a valid agent name").arg(name.left(80))};
    if (!AgentName::matchesAny(identity.agents, name))
        return Refusal{403, "Forbidden",
                       agent
                           ? QStringLiteral("%1 may only register agent %2, not %3")
                                 .arg(identity.name, identity.agents.join(QLatin1Char(' ')), name)
                           : QStringLiteral("%1 may not reach agent %2 (only %3)")
                                 .arg(identity.name, name, identity.agents.join(QLatin1Char(' ')))};
    identity.agents = QStringList{name};
    return std::nullopt;
}

void HubServer::adoptSession(TunnelSession *session, const Identity &identity)
{
    const QString name = identity.agents.value(0);
    // Each hop resumes on its own: a held session keeps its relayed channels, and an agent its
    // standing, until it resumes or its hold ends.
    const Capabilities resume = session->localCapabilities() & Capability::Resume;
    if (identity.kind == Identity::Kind::Agent) {
        adoptAgent(session, name, resume);
        return;
    }
    if (identity.listsAgents) {
        adoptListing(session, identity.agents);
        return;
    }
    session->setLocalCapabilities(Capability::AcceptsListen | Capability::DatagramChannels |
                                  Capability::Relay | resume);
    auto *relay = new DesktopRelay(session, name, &m_registry);
    session->setTargetPolicy(relay->policy());
    qCInfo(lcServer).noquote()
        << QStringLiteral("desktop at %1 asks for agent %2").arg(session->peerAddress(), name);
}

void HubServer::adoptAgent(TunnelSession *session, const QString &name, Capabilities resume)
{
    // Datagram channels: an agent's UDP reverse forwards open their flows towards the hub.
    session->setLocalCapabilities(Capability::DatagramChannels | Capability::Relay | resume);
    session->setTargetPolicy(std::make_shared<ReverseRoutePolicy>(&m_registry, session, name));
    connect(session, &TunnelSession::ready, this, [this, session, name] {
        if (session->version() < protocol::kCapabilitiesVersion) {
            session->close(QStringLiteral("an agent needs protocol version %1 or later")
                               .arg(protocol::kCapabilitiesVersion));
            return;
        }
        endRestartedAgent(session, name);
        // The agent hears its standing before any desktop's listen request reaches it.
        const AgentState state = m_registry.active(name) ? AgentState::Standby : AgentState::Active;
        session->sendAgentStatus(state, name, session->peerAddress());
        qCInfo(lcServer).noquote() << QStringLiteral("agent %1 registered from %2 (%3)")
                                          .arg(name, session->peerAddress(), stateName(state));
        m_registry.add(name, session);
        Q_EMIT agentStateChanged(name, session->peerAddress(), state);
    });
    // A held agent keeps its channels for a resume. Without a standby it also keeps its standing;
    // with one, the standby takes new channels at once and the held agent, should it come back,
    // serves on as a standby (the status waits in its session until the resume).
    connect(session, &TunnelSession::linkLost, this, [this, session, name](const QString &reason) {
        if (m_registry.nameOf(session).isEmpty())
            return;
        const QString held =
            QStringLiteral("held for %1 s for a resume")
                .arg(double(session->limits().resumeTimeoutMs) / 1000.0, 0, 'g', 4);
        if (failOver(session, name)) {
            qCInfo(lcServer).noquote()
                << QStringLiteral("agent %1 at %2 lost its link (%3); its connections are %4, "
                                  "new ones go to the standby")
                       .arg(name, session->peerAddress(), reason, held);
            return;
        }
        qCInfo(lcServer).noquote() << QStringLiteral("agent %1 at %2 lost its link (%3); %4")
                                          .arg(name, session->peerAddress(), reason, held);
    });
    // A demoted agent comes back as a standby, or as the active one if no other instance is left.
    connect(session, &TunnelSession::resumed, this, [this, session, name] {
        if (!m_registry.isDemoted(session))
            return;
        const bool alone = !m_registry.active(name);
        // The agent hears its standing before any desktop's listen request reaches it.
        if (alone)
            session->sendAgentStatus(AgentState::Active, name, session->peerAddress());
        m_registry.resumed(session);
        qCInfo(lcServer).noquote()
            << QStringLiteral("agent %1 at %2 resumed %3")
                   .arg(name, session->peerAddress(),
                        alone ? QStringLiteral("and is active again (no other instance is left)")
                              : QStringLiteral("as a standby"));
        if (alone)
            Q_EMIT agentStateChanged(name, session->peerAddress(), AgentState::Active);
    });
    connect(session, &TunnelSession::closed, this, [this, session, name](const QString &reason) {
        if (m_registry.nameOf(session).isEmpty())
            return;
        qCInfo(lcServer).noquote() << QStringLiteral("agent %1 at %2 is gone: %3")
                                          .arg(name, session->peerAddress(), reason);
        m_registry.remove(session);
    });
}

bool HubServer::failOver(TunnelSession *held, const QString &name)
{
    if (!m_registry.demote(held))
        return false;
    held->sendAgentStatus(AgentState::Standby, name, held->peerAddress());
    // Opens the held agent has not answered fail now: their clients retry on the standby at once
    // instead of waiting for a resume that may never come.
    const QString unanswered =
        QStringLiteral("agent %1 at %2 lost its link before it answered; new connections go to "
                       "the standby")
            .arg(name, held->peerAddress());
    // A UDP flow would only lose its datagrams while the agent is held; ended now, the flow's
    // next datagram opens a new one through the standby. Connections keep waiting for a resume.
    const QString flowMoves = QStringLiteral("the agent lost its link; UDP flows move to the "
                                             "standby");
    for (Channel *channel : held->channels()) {
        if (channel->state() == Channel::State::Opening)
            channel->abortChannel(unanswered);
        else if (channel->isDatagram())
            channel->abortChannel(flowMoves);
    }
    return true;
}

void HubServer::endRestartedAgent(TunnelSession *session, const QString &name)
{
    // An agent that kept running resumes its held session; one that restarted knows no ticket
    // and registers anew. A held session of its name from the same host is taken for its former
    // self: its connections cannot come back, so they end now, saying why, instead of waiting
    // for the hold to expire.
    const QString host = hostOf(session->peerAddress());
    for (const AgentRegistry::Agent &agent : m_registry.agents()) {
        TunnelSession *held = agent.session;
        if (agent.name != name || !held || held == session || !held->isHeld() ||
            hostOf(agent.address) != host)
            continue;
        qCInfo(lcServer).noquote()
            << QStringLiteral("agent %1 at %2 restarted: its new session from %3 replaces the one "
                              "held for a resume, whose %4 connections end")
                   .arg(name, agent.address, session->peerAddress())
                   .arg(held->channels().size());
        held->close(QStringLiteral("agent %1 restarted (a new session from %2 replaced this one)")
                        .arg(name, host));
    }
}

void HubServer::adoptListing(TunnelSession *session, const QStringList &patterns)
{
    // Announcing relay is what tells the desktop this is a hub; it may open no channels here.
    session->setLocalCapabilities(Capability::Relay);
    session->setTargetPolicy(nullptr);
    connect(session, &TunnelSession::ready, this, [this, session, patterns] {
        if (session->version() < protocol::kCapabilitiesVersion) {
            session->close(QStringLiteral("listing agents needs protocol version %1 or later")
                               .arg(protocol::kCapabilitiesVersion));
            return;
        }
        const QList<AgentListing> agents = listing(patterns);
        session->sendAgentList(agents);
        qCInfo(lcServer).noquote()
            << QStringLiteral("desktop at %1 listed the agents (%2 instances)")
                   .arg(session->peerAddress())
                   .arg(agents.size());
        session->close(QStringLiteral("agent list sent"));
    });
}

QList<AgentListing> HubServer::listing(const QStringList &patterns) const
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QList<AgentListing> agents;
    for (const AgentRegistry::Agent &agent : m_registry.agents()) {
        if (!AgentName::matchesAny(patterns, agent.name))
            continue;
        const AgentState state = m_registry.active(agent.name) == agent.session
                                     ? AgentState::Active
                                     : AgentState::Standby;
        agents.append(AgentListing{agent.name, state, agent.address,
                                   quint32(qMax<qint64>(0, agent.since.secsTo(now)))});
    }
    std::stable_sort(agents.begin(), agents.end(),
                     [](const AgentListing &a, const AgentListing &b) { return a.name < b.name; });
    return agents;
}

void HubServer::onActiveChanged(const QString &name, const QString &previousAddress)
{
    TunnelSession *active = m_registry.active(name);
    for (ForwardListener *listener : std::as_const(m_published)) {
        if (m_publishedAgent.value(listener) == name)
            listener->setSession(active);
    }
    // A first registration is logged as such.
    if (previousAddress.isEmpty())
        return;
    if (!active) {
        qCWarning(lcServer).noquote()
            << QStringLiteral("agent %1: no instance is connected now (%2 was the last)")
                   .arg(name, previousAddress);
        return;
    }
    active->sendAgentStatus(AgentState::Active, name, active->peerAddress());
    qCInfo(lcServer).noquote() << QStringLiteral("agent %1 at %2 is now active (promoted from "
                                                 "standby; %3 is gone)")
                                      .arg(name, active->peerAddress(), previousAddress);
    Q_EMIT agentStateChanged(name, active->peerAddress(), AgentState::Active);
}

bool HubServer::publish(const Publication &publication, QString *error)
{
    auto *listener = new ForwardListener(publication.host, publication.hostPort, this);
    if (!listener->start(publication.bindAddress, publication.port, error)) {
        delete listener;
        return false;
    }
    m_published.append(listener);
    m_publishedAgent.insert(listener, publication.agent);
    listener->setSession(m_registry.active(publication.agent));
    return true;
}

} // namespace wstunnel
