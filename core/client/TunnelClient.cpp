#include "TunnelClient.h"

#include "Logging.h"
#include "forward/ForwardListener.h"
#include "net/HostResolver.h"
#include "session/TunnelSession.h"

#include <QNetworkRequest>
#include <QRegularExpression>
#include <QWebSocket>

namespace wstunnel {

namespace {

// QWebSocket reports a refused upgrade only as text; the status code is all we need from it.
int httpStatusOf(const QString &errorString)
{
    static const QRegularExpression pattern(QStringLiteral("status code: (\\d{3})"));
    const QRegularExpressionMatch match = pattern.match(errorString);
    return match.hasMatch() ? match.captured(1).toInt() : 0;
}

} // namespace

TunnelClient::TunnelClient(const ClientSettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_backoffMs(settings.initialBackoffMs)
{
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &TunnelClient::connectNow);
    m_handshakeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this, [this] {
        connectionLost(QStringLiteral("no answer from %1 within %2 s")
                           .arg(m_settings.url.toDisplayString())
                           .arg(m_settings.handshakeTimeoutMs / 1000));
    });
}

TunnelClient::~TunnelClient()
{
    delete m_session;
    delete m_socket;
}

ForwardListener *TunnelClient::addLocalForward(const ForwardSpec &spec, QString *error)
{
    const QHostAddress address = HostResolver::parseLiteral(spec.bindHost);
    if (address.isNull()) {
        *error = QStringLiteral("-L %1: bind address '%2' is not an IP address")
                     .arg(spec.toString(), spec.bindHost);
        return nullptr;
    }
    auto *listener = new ForwardListener(spec.targetHost, spec.targetPort, this);
    if (!listener->start(address, spec.bindPort, error)) {
        delete listener;
        return nullptr;
    }
    listener->setSession(m_session && m_session->isReady() ? m_session.data() : nullptr);
    m_listeners.append(listener);
    return listener;
}

void TunnelClient::removeLocalForward(ForwardListener *listener)
{
    if (!m_listeners.removeOne(listener))
        return;
    listener->close();
    listener->closeChannels(QStringLiteral("forward %1 removed").arg(listener->localEndpoint()));
    listener->deleteLater();
}

void TunnelClient::addReverseForward(const ForwardSpec &spec)
{
    m_reverse.append(ReverseForward{spec, 0, 0});
    if (m_session && m_session->isReady())
        m_reverse.last().requestId = m_session->requestListen(spec.bindHost, spec.bindPort);
}

TunnelSession *TunnelClient::session() const
{
    return m_session;
}

void TunnelClient::start()
{
    if (m_state != State::Stopped && m_state != State::Failed)
        return;
    m_backoffMs = m_settings.initialBackoffMs;
    connectNow();
}

void TunnelClient::stop()
{
    m_retryTimer.stop();
    m_handshakeTimer.stop();
    if (m_session)
        m_session->close(QStringLiteral("client stopped"));
    delete m_socket;
    m_socket = nullptr;
    setState(State::Stopped, QStringLiteral("stopped"));
}

void TunnelClient::connectNow()
{
    delete m_socket;
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest);
    connect(m_socket, &QWebSocket::connected, this, &TunnelClient::onConnected);
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &TunnelClient::onSocketError);
    QNetworkRequest request(m_settings.url);
    if (!m_settings.token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_settings.token);
    setState(State::Connecting,
             QStringLiteral("connecting to %1").arg(m_settings.url.toDisplayString()));
    m_handshakeTimer.start(m_settings.handshakeTimeoutMs);
    m_socket->open(request);
}

void TunnelClient::onConnected()
{
    QWebSocket *socket = m_socket;
    m_socket = nullptr;
    socket->disconnect(this);
    auto *session = new TunnelSession(socket, TunnelSession::Role::Dialer, m_settings.limits, this);
    m_session = session;
    session->setTargetPolicy(this);
    connect(session, &TunnelSession::ready, this, &TunnelClient::onSessionReady);
    connect(session, &TunnelSession::closed, this, [this, session](const QString &reason) {
        session->deleteLater();
        if (m_session == session)
            connectionLost(reason);
    });
    connect(session, &TunnelSession::listenAnswered, this,
            [this](quint32 id, bool ok, quint16 port, const QString &reason) {
                for (ReverseForward &reverse : m_reverse) {
                    if (reverse.requestId != id)
                        continue;
                    reverse.remotePort = ok ? port : 0;
                    if (ok) {
                        qCInfo(lcClient).noquote()
                            << QStringLiteral("reverse forwarding %1 on the remote -> %2")
                                   .arg(formatEndpoint(reverse.spec.bindHost, port),
                                        reverse.spec.targetEndpoint());
                        Q_EMIT reverseForwardReady(reverse.spec, port);
                    } else {
                        qCWarning(lcClient).noquote()
                            << QStringLiteral("-R %1 refused by the remote: %2")
                                   .arg(reverse.spec.toString(), reason);
                        Q_EMIT reverseForwardFailed(reverse.spec, reason);
                    }
                }
            });
    session->start(m_settings.name);
}

void TunnelClient::onSessionReady()
{
    m_handshakeTimer.stop();
    m_backoffMs = m_settings.initialBackoffMs;
    for (ForwardListener *listener : std::as_const(m_listeners))
        listener->setSession(m_session);
    for (ReverseForward &reverse : m_reverse) {
        reverse.remotePort = 0;
        reverse.requestId = m_session->requestListen(reverse.spec.bindHost, reverse.spec.bindPort);
    }
    setState(State::Connected, QStringLiteral("connected to %1 (%2)")
                                   .arg(m_settings.url.toDisplayString(), m_session->peerName()));
    Q_EMIT sessionReady(m_session);
}

void TunnelClient::onSocketError()
{
    if (!m_socket)
        return;
    const QString error = m_socket->errorString();
    const int status = httpStatusOf(error);
    if (status == 401 || status == 403) {
        m_handshakeTimer.stop();
        m_socket->deleteLater();
        m_socket = nullptr;
        setState(State::Failed,
                 QStringLiteral("%1 refused the token (HTTP %2): check --token-file or "
                                "WSTUNNEL_TOKEN")
                     .arg(m_settings.url.toDisplayString())
                     .arg(status));
        return;
    }
    if (status == 404) {
        m_handshakeTimer.stop();
        m_socket->deleteLater();
        m_socket = nullptr;
        setState(State::Failed, QStringLiteral("%1 has no tunnel at this path (HTTP 404)")
                                    .arg(m_settings.url.toDisplayString()));
        return;
    }
    connectionLost(status ? QStringLiteral("HTTP %1 from %2").arg(status).arg(m_settings.url.toDisplayString())
                          : error);
}

void TunnelClient::connectionLost(const QString &reason)
{
    m_handshakeTimer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    if (m_session) {
        TunnelSession *session = m_session;
        m_session = nullptr;
        session->disconnect(this);
        session->close(reason);
        session->deleteLater();
    }
    for (ForwardListener *listener : std::as_const(m_listeners))
        listener->setSession(nullptr);
    if (m_state == State::Stopped || m_state == State::Failed)
        return;
    setState(State::Retrying, QStringLiteral("%1; retrying in %2 s")
                                  .arg(reason)
                                  .arg(double(m_backoffMs) / 1000.0, 0, 'f', 1));
    m_retryTimer.start(m_backoffMs);
    m_backoffMs = qMin(m_backoffMs * 2, m_settings.maxBackoffMs);
}

void TunnelClient::setState(State state, const QString &message)
{
    if (m_state == state && m_statusText == message)
        return;
    m_state = state;
    m_statusText = message;
    if (state == State::Failed || state == State::Retrying)
        qCWarning(lcClient).noquote() << message;
    else
        qCInfo(lcClient).noquote() << message;
    Q_EMIT stateChanged(state, message);
}

void TunnelClient::resolve(const QString &host, quint16 port, QObject *context, Callback done)
{
    for (const ReverseForward &reverse : std::as_const(m_reverse)) {
        if (reverse.remotePort != port || reverse.spec.bindHost != host)
            continue;
        const ForwardSpec spec = reverse.spec;
        HostResolver::resolve(spec.targetHost, context,
                              [done, spec](const QList<QHostAddress> &addresses, const QString &error) {
                                  if (!error.isEmpty())
                                      done(TargetResolution{{}, spec.targetPort,
                                                            FailureCode::Unreachable, error});
                                  else
                                      done(TargetResolution{addresses, spec.targetPort,
                                                            FailureCode::Refused, QString()});
                              });
        return;
    }
    done(TargetResolution{{}, port, FailureCode::NotAllowed,
                          QStringLiteral("no reverse forward for %1").arg(formatEndpoint(host, port))});
}

} // namespace wstunnel
