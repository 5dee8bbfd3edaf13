#include "AgentConnection.h"

#include "Logging.h"
#include "client/TunnelClient.h"
#include "forward/RemoteListeners.h"
#include "hub/AgentName.h"
#include "server/AllowList.h"
#include "session/TunnelSession.h"

namespace wstunnel {

AgentConnection::AgentConnection(ClientSettings settings, const QString &name,
                                 const AllowList &allowList, QObject *parent)
    : QObject(parent)
    , m_hubUrl(settings.url)
    , m_name(name)
    , m_listeners(new RemoteListeners(this))
{
    settings.headers.append({QByteArray(AgentName::kRegisterHeader), name.toUtf8()});
    settings.name = QStringLiteral("agent %1").arg(name);
    m_client = new TunnelClient(settings, this);
    // A hub older than UDP relaying never opens datagram channels, so announcing them is safe.
    m_client->setLocalCapabilities(Capability::AcceptsListen | Capability::DatagramChannels);
    m_client->setTargetPolicy(std::make_shared<AllowList>(allowList));
    connect(m_client, &TunnelClient::sessionReady, this, &AgentConnection::onSessionReady);
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const TunnelError &error) {
                // A held session keeps its standing at the hub: the hub holds it too.
                const TunnelSession *session = m_client->session();
                if (state == TunnelClient::State::Connected || (session && session->isHeld()))
                    return;
                m_state = AgentState::Absent;
                if (state == TunnelClient::State::Failed)
                    Q_EMIT failed(error);
            });
}

void AgentConnection::start()
{
    m_client->start();
}

void AgentConnection::stop()
{
    m_client->stop();
}

void AgentConnection::onSessionReady(TunnelSession *session)
{
    if (!session->peerCapabilities().testFlag(Capability::Relay)) {
        TunnelError error(TunnelError::Kind::NotAHub, m_hubUrl.toDisplayString());
        error.final = true;
        m_client->stop();
        Q_EMIT failed(error);
        return;
    }
    m_listeners->serve(session);
    connect(session, &TunnelSession::agentStatusReceived, this,
            [this](AgentState state, const QString &name) { onStatus(state, name); });
}

void AgentConnection::onStatus(AgentState state, const QString &name)
{
    if (name != m_name || state == AgentState::Absent) {
        qCWarning(lcClient).noquote()
            << QStringLiteral("%1 sent a status for agent '%2', not for this agent %3; ignored")
                   .arg(m_hubUrl.toDisplayString(), name, m_name);
        return;
    }
    const AgentState before = std::exchange(m_state, state);
    if (before == AgentState::Absent)
        Q_EMIT registered(state);
    else if (before == AgentState::Standby && state == AgentState::Active)
        Q_EMIT promoted();
    else if (before == AgentState::Active && state == AgentState::Standby)
        qCInfo(lcClient).noquote()
            << QStringLiteral("%1 is a standby now: another instance took over while this one's "
                              "connection to %2 was down")
                   .arg(m_name, m_hubUrl.toDisplayString());
}

} // namespace wstunnel
