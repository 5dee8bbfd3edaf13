#include "ConnectionProbe.h"

#include "client/TunnelClient.h"
#include "session/TunnelSession.h"

namespace wstunnel {

ConnectionProbe::ConnectionProbe(QObject *parent)
    : QObject(parent)
{
}

ConnectionProbe::~ConnectionProbe()
{
    if (m_client)
        m_client->stop();
}

void ConnectionProbe::start(const RemoteConfig &remote, const QByteArray &token)
{
    if (m_client)
        return;
    ClientSettings settings = remote.toClientSettings();
    settings.token = token;
    settings.name = QStringLiteral("wstunnel desktop (connection test)");
    m_tls = remote.url.scheme() == QLatin1String("wss");
    m_client = new TunnelClient(settings, this);
    connect(m_client, &TunnelClient::sessionReady, this, [this](TunnelSession *session) {
        Result result;
        result.peerName = session->peerName();
        result.protocolVersion = session->version();
        result.tls = m_tls;
        finish(result);
    });
    // The first failed attempt is the answer; the client would only retry it.
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const TunnelError &error) {
                if (state != TunnelClient::State::Retrying && state != TunnelClient::State::Failed)
                    return;
                Result result;
                result.error = error;
                result.tls = m_tls;
                finish(result);
            });
    m_client->start();
}

void ConnectionProbe::finish(const Result &result)
{
    TunnelClient *client = m_client;
    m_client = nullptr;
    client->disconnect(this);
    // Not inside the client's own signal: it goes on using its session after emitting.
    QMetaObject::invokeMethod(
        client,
        [client] {
            client->stop();
            client->deleteLater();
        },
        Qt::QueuedConnection);
    Q_EMIT finished(result);
}

} // namespace wstunnel
