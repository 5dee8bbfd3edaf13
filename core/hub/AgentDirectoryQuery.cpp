#include "AgentDirectoryQuery.h"

#include "AgentName.h"
#include "client/TunnelClient.h"
#include "session/TunnelSession.h"

namespace wstunnel {

AgentDirectoryQuery::AgentDirectoryQuery(ClientSettings settings, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
{
    qRegisterMetaType<QList<AgentListing>>();
    m_settings.headers.removeIf([](const QPair<QByteArray, QByteArray> &header) {
        return header.first.compare(AgentName::kReachHeader, Qt::CaseInsensitive) == 0;
    });
    m_settings.headers.append(
        {QByteArray(AgentName::kListHeader), QByteArray(AgentName::kListValue)});
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        TunnelError error(TunnelError::Kind::TimedOut, m_settings.url.toDisplayString());
        error.timeoutSeconds = m_settings.handshakeTimeoutMs / 1000;
        finish();
        Q_EMIT failed(error);
    });
}

void AgentDirectoryQuery::start()
{
    finish();
    m_client = new TunnelClient(m_settings, this);
    m_client->setLocalCapabilities({});
    connect(m_client, &TunnelClient::sessionReady, this, &AgentDirectoryQuery::onSessionReady);
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const TunnelError &clientError) {
                if (state != TunnelClient::State::Retrying && state != TunnelClient::State::Failed)
                    return;
                TunnelError error = clientError;
                // A hub of this version lists agents for any desktop token; 403 is an older
                // hub's answer to a desktop that names no agent, or an agent's token.
                if (error.kind == TunnelError::Kind::UpgradeForbidden)
                    error = TunnelError(TunnelError::Kind::AgentListRefused, error.subject);
                error.final = true;
                finish();
                Q_EMIT failed(error);
            });
    // The client's own timeout covers the handshake; this one also the wait for the list.
    m_timeout.start(m_settings.handshakeTimeoutMs);
    m_client->start();
}

void AgentDirectoryQuery::onSessionReady(TunnelSession *session)
{
    if (!session->peerCapabilities().testFlag(Capability::Relay)) {
        TunnelError error(TunnelError::Kind::NotAHub, m_settings.url.toDisplayString());
        error.final = true;
        finish();
        Q_EMIT failed(error);
        return;
    }
    connect(session, &TunnelSession::agentListReceived, this,
            [this](const QList<AgentListing> &agents) {
                finish();
                Q_EMIT listed(agents);
            });
}

void AgentDirectoryQuery::finish()
{
    m_timeout.stop();
    if (!m_client)
        return;
    TunnelClient *client = std::exchange(m_client, nullptr);
    client->disconnect(this);
    if (TunnelSession *session = client->session())
        session->disconnect(this);
    client->stop();
    client->deleteLater();
}

} // namespace wstunnel
