#include "TunnelClient.h"

#include "Logging.h"
#include "ProxyResolver.h"
#include "config/ForwardSpec.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"
#include "forward/ReverseForward.h"
#include "link/WebSocketLink.h"
#include "net/HostResolver.h"
#include "net/TlsConfig.h"
#include "session/TunnelSession.h"

#include <QNetworkRequest>
#include <QRegularExpression>
#include <QSslCipher>
#include <QSslSocket>
#include <QWebSocket>

namespace wstunnel {

namespace {

// QWebSocket reports a refused upgrade only as text: "... status code: 503 (REASON PHRASE).".
int httpStatusOf(const QString &errorString)
{
    static const QRegularExpression pattern(QStringLiteral("status code: (\\d{3})"));
    const QRegularExpressionMatch match = pattern.match(errorString);
    return match.hasMatch() ? match.captured(1).toInt() : 0;
}

// A wstunnel-remote appends its reason to the standard phrase: "Service Unavailable: REASON".
QString remoteReasonOf(const QString &errorString)
{
    static const QRegularExpression pattern(
        QStringLiteral("status code: \\d{3} \\([^:()]*: (.+)\\)\\.?$"));
    const QRegularExpressionMatch match = pattern.match(errorString);
    return match.hasMatch() ? match.captured(1) : QString();
}

QString endpointOf(const QUrl &url)
{
    return formatEndpoint(url.host(),
                          quint16(url.port(url.scheme() == QLatin1String("wss") ? 443 : 80)));
}

} // namespace

TunnelClient::TunnelClient(const ClientSettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_backoffMs(settings.initialBackoffMs)
{
    qRegisterMetaType<TunnelError>();
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &TunnelClient::connectNow);
    m_handshakeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this, [this] {
        TunnelError error(TunnelError::Kind::TimedOut, m_settings.url.toDisplayString());
        error.timeoutSeconds = m_settings.handshakeTimeoutMs / 1000;
        connectionLost(error);
    });
}

TunnelClient::~TunnelClient()
{
    delete m_session;
    delete m_socket;
}

ForwardListener *TunnelClient::addLocalForward(const ForwardSpec &spec, TunnelError *error)
{
    const QHostAddress address = spec.bindAddress();
    if (address.isNull()) {
        *error = TunnelError(TunnelError::Kind::InvalidBindAddress, spec.bindHost);
        error->forward = spec.toString();
        return nullptr;
    }
    auto *listener = spec.direction == ForwardSpec::Direction::Dynamic
                         ? new ForwardListener(this)
                         : new ForwardListener(spec.targetHost, spec.targetPort, this);
    connect(listener, &ForwardListener::sessionWanted, this, &TunnelClient::redialNow);
    // The listener's own message is for the remote, which has no typed errors to give.
    QString message;
    if (!listener->start(address, spec.bindPort, &message)) {
        *error =
            TunnelError(listener->serverError() == QAbstractSocket::AddressInUseError
                            ? TunnelError::Kind::LocalPortInUse
                            : TunnelError::Kind::CannotListen,
                        formatEndpoint(address.toString(), spec.bindPort), listener->errorString());
        error->forward = spec.toString();
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
    const QString reason = QStringLiteral("forward %1 removed").arg(listener->localEndpoint());
    listener->close();
    listener->closeChannels(reason);
    listener->deleteLater();
}

DatagramListener *TunnelClient::addDatagramForward(const ForwardSpec &spec, TunnelError *error)
{
    const QHostAddress address = spec.bindAddress();
    if (address.isNull()) {
        *error = TunnelError(TunnelError::Kind::InvalidBindAddress, spec.bindHost);
        error->forward = spec.toString();
        return nullptr;
    }
    auto *listener = new DatagramListener(spec.targetHost, spec.targetPort, this);
    connect(listener, &DatagramListener::sessionWanted, this, &TunnelClient::redialNow);
    QString message;
    if (!listener->start(address, spec.bindPort, &message)) {
        *error =
            TunnelError(listener->addressInUse() ? TunnelError::Kind::LocalPortInUse
                                                 : TunnelError::Kind::CannotListen,
                        formatEndpoint(address.toString(), spec.bindPort) + QStringLiteral("/udp"),
                        listener->errorString());
        error->forward = spec.toString();
        delete listener;
        return nullptr;
    }
    listener->setSession(m_session && m_session->isReady() ? m_session.data() : nullptr);
    m_datagramListeners.append(listener);
    return listener;
}

void TunnelClient::removeDatagramForward(DatagramListener *listener)
{
    if (!m_datagramListeners.removeOne(listener))
        return;
    const QString reason = QStringLiteral("forward %1/udp removed").arg(listener->localEndpoint());
    listener->close();
    listener->closeChannels(reason);
    listener->deleteLater();
}

ReverseForward *TunnelClient::addReverseForward(const ForwardSpec &spec)
{
    auto *forward = new ReverseForward(spec, this);
    m_reverse.append(forward);
    if (m_session && m_session->isReady())
        askToListen(forward);
    return forward;
}

TunnelSession *TunnelClient::session() const
{
    return m_session;
}

void TunnelClient::removeReverseForward(ReverseForward *forward)
{
    if (!m_reverse.removeOne(forward))
        return;
    if (m_session && m_session->isReady() && forward->requestId() != 0)
        m_session->cancelListen(forward->requestId());
    // The remote resets them too; this side does not wait for it.
    forward->closeChannels(
        QStringLiteral("reverse forward %1 removed").arg(forward->spec().toString()));
    forward->deleteLater();
}

void TunnelClient::removeReverseForward(const ForwardSpec &spec)
{
    for (ReverseForward *forward : std::as_const(m_reverse)) {
        if (forward->spec() == spec) {
            removeReverseForward(forward);
            return;
        }
    }
}

void TunnelClient::start()
{
    if (m_state != State::Stopped && m_state != State::Failed)
        return;
    m_backoffMs = m_settings.initialBackoffMs;
    m_error = TunnelError();
    connectNow();
}

void TunnelClient::stop()
{
    // Stopped first: closing the session reports a lost connection, which must not schedule a
    // retry.
    m_error = TunnelError();
    setState(State::Stopped, QStringLiteral("stopped"));
    m_retryTimer.stop();
    m_handshakeTimer.stop();
    if (m_session)
        m_session->close(QStringLiteral("client stopped"));
    delete m_socket;
    m_socket = nullptr;
}

void TunnelClient::connectNow()
{
    delete m_socket;
    m_socket = nullptr;
    m_tlsError = TunnelError();
    m_encrypted = false;
    std::optional<QSslConfiguration> tls;
    if (m_settings.url.scheme() == QLatin1String("wss")) {
        TunnelError error;
        tls = TlsConfig::client(m_settings, &error);
        if (!tls) {
            fail(error);
            return;
        }
    }
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest);
    connect(m_socket, &QWebSocket::connected, this, &TunnelClient::onConnected);
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &TunnelClient::onSocketError);
    connect(m_socket, &QWebSocket::sslErrors, this, &TunnelClient::onSslErrors);
    connect(m_socket, &QWebSocket::alertReceived, this, &TunnelClient::onAlertReceived);
    if (tls)
        m_socket->setSslConfiguration(*tls);
    m_proxy = ProxyResolver::proxyFor(m_settings);
    m_socket->setProxy(m_proxy);
    QNetworkRequest request(m_settings.url);
    for (const auto &header : std::as_const(m_settings.headers))
        request.setRawHeader(header.first, header.second);
    if (!m_settings.token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_settings.token);
    const QString via =
        m_proxy.type() == QNetworkProxy::HttpProxy
            ? QStringLiteral(" through proxy %1").arg(ProxyResolver::describe(m_proxy))
            : QString();
    setState(State::Connecting,
             QStringLiteral("connecting to %1%2").arg(m_settings.url.toDisplayString(), via));
    m_handshakeTimer.start(m_settings.handshakeTimeoutMs);
    m_socket->open(request);
    // QWebSocket queues the upgrade request (and the token) before the TLS handshake and flushes
    // it right after QSslSocket::encrypted: that is the last moment to check the pin.
    if (auto *sslSocket = m_socket->findChild<QSslSocket *>())
        connect(sslSocket, &QSslSocket::encrypted, this, &TunnelClient::onEncrypted);
    else if (!m_settings.pinSha256.isEmpty())
        fail(TunnelError(TunnelError::Kind::PinNotCheckable, endpointOf(m_settings.url)));
}

void TunnelClient::onConnected()
{
    QWebSocket *socket = m_socket;
    m_socket = nullptr;
    socket->disconnect(this);
    WebSocketLink::Settings linkSettings;
    linkSettings.isClient = true;
    linkSettings.maxMessageSize = m_settings.limits.maxMessageSize;
    linkSettings.keepAliveMs = m_settings.limits.keepAliveMs;
    auto *link = new WebSocketLink(socket, linkSettings);
    if (m_session && m_session->isHeld()) {
        qCInfo(lcClient).noquote()
            << QStringLiteral("resuming the session with %1").arg(m_settings.url.toDisplayString());
        m_session->resumeOver(link);
        return;
    }
    auto *session = new TunnelSession(link, TunnelSession::Role::Dialer, m_settings.limits, this);
    m_session = session;
    Capabilities capabilities = m_localCapabilities;
    if (m_settings.limits.resumeTimeoutMs > 0)
        capabilities |= Capability::Resume;
    session->setLocalCapabilities(capabilities);
    // The client outlives its sessions; they only borrow it as their policy.
    session->setTargetPolicy(m_targetPolicy
                                 ? m_targetPolicy
                                 : std::shared_ptr<TargetPolicy>(std::shared_ptr<void>(), this));
    connect(session, &TunnelSession::ready, this, &TunnelClient::onSessionReady);
    connect(session, &TunnelSession::linkLost, this, [this, session](const QString &reason) {
        if (m_session == session)
            onLinkLost(reason);
    });
    connect(session, &TunnelSession::resumed, this, [this, session] {
        if (m_session == session)
            onSessionResumed();
    });
    connect(session, &TunnelSession::closed, this, [this, session](const QString &reason) {
        session->deleteLater();
        if (m_session != session)
            return;
        const bool wasHeld = m_state != State::Connected;
        // What a held session's end costs the user, said once: its connections are reset now.
        const int ended = session->channelsEndedWithSession();
        connectionLost(
            wasHeld && ended > 0
                ? QStringLiteral("%1; %2 connections ended").arg(reason, QString::number(ended))
                : reason);
        // A held session ends when the remote answers that it cannot resume it (or the resume
        // timeout expires): a new session at once, for the connections waiting for one.
        if (wasHeld && m_state == State::Retrying) {
            m_backoffMs = m_settings.initialBackoffMs;
            m_retryTimer.start(0);
        }
    });
    connect(session, &TunnelSession::listenAnswered, this,
            [this](quint32 id, bool ok, quint16 port, const QString &reason) {
                ReverseForward *forward = nullptr;
                for (ReverseForward *candidate : std::as_const(m_reverse)) {
                    if (candidate->requestId() == id && id != 0)
                        forward = candidate;
                }
                if (!forward || forward->state() != ReverseForward::State::Pending)
                    return;
                const ForwardSpec spec = forward->spec();
                if (ok) {
                    qCInfo(lcClient).noquote()
                        << QStringLiteral("reverse forwarding %1 on the remote -> %2%3")
                               .arg(formatEndpoint(spec.bindHost, port), spec.targetEndpoint(),
                                    spec.transportSuffix());
                    forward->setListening(port);
                    Q_EMIT reverseForwardReady(spec, port);
                } else {
                    qCWarning(lcClient).noquote()
                        << QStringLiteral("-R %1 refused by the remote: %2")
                               .arg(spec.toString(), reason);
                    forward->setFailed(reason);
                    Q_EMIT reverseForwardFailed(spec, reason);
                }
            });
    session->start(m_settings.name);
}

void TunnelClient::onSessionReady()
{
    m_handshakeTimer.stop();
    m_backoffMs = m_settings.initialBackoffMs;
    m_error = TunnelError();
    for (ForwardListener *listener : std::as_const(m_listeners))
        listener->setSession(m_session);
    for (DatagramListener *listener : std::as_const(m_datagramListeners))
        listener->setSession(m_session);
    for (ReverseForward *forward : std::as_const(m_reverse))
        askToListen(forward);
    setState(State::Connected, QStringLiteral("connected to %1 (%2)")
                                   .arg(m_settings.url.toDisplayString(), m_session->peerName()));
    Q_EMIT sessionReady(m_session);
}

// The session holds its channels: dial again at once, and then with backoff while it is held.
void TunnelClient::onLinkLost(const QString &reason)
{
    m_handshakeTimer.stop();
    if (m_state == State::Stopped || m_state == State::Failed)
        return;
    const bool firstAttempt = m_state == State::Connected;
    if (firstAttempt) {
        m_backoffMs = m_settings.initialBackoffMs;
        adaptKeepAlive(m_session->idleMs());
    }
    m_error =
        TunnelError(TunnelError::Kind::ConnectionLost, m_settings.url.toDisplayString(), reason);
    const int delayMs = firstAttempt ? 0 : m_backoffMs;
    setState(State::Retrying,
             QStringLiteral("%1; retrying in %2 s to resume the session, %3 connections held")
                 .arg(m_error.toString())
                 .arg(double(delayMs) / 1000.0, 0, 'f', 1)
                 .arg(m_session->channels().size()));
    m_retryTimer.start(delayMs);
    if (!firstAttempt)
        m_backoffMs = qMin(m_backoffMs * 2, m_settings.maxBackoffMs);
}

// A WebSocket cut while nothing moved was most likely cut by a proxy's idle timeout: ping more
// often from now on, so that it does not happen again.
void TunnelClient::adaptKeepAlive(qint64 idleMs)
{
    constexpr qint64 kIdleCutMs = 1000;
    constexpr int kMinKeepAliveMs = 1000;
    const int current = m_settings.limits.keepAliveMs;
    if (idleMs < kIdleCutMs || current <= kMinKeepAliveMs)
        return;
    m_settings.limits.keepAliveMs = qMax(kMinKeepAliveMs, current / 2);
    qCInfo(lcClient).noquote()
        << QStringLiteral("the WebSocket to %1 was cut after %2 s without traffic (a proxy's idle "
                          "timeout?); pinging every %3 s from now on instead of every %4 s")
               .arg(m_settings.url.toDisplayString())
               .arg(double(idleMs) / 1000.0, 0, 'f', 1)
               .arg(double(m_settings.limits.keepAliveMs) / 1000.0, 0, 'g', 4)
               .arg(double(current) / 1000.0, 0, 'g', 4);
}

void TunnelClient::onSessionResumed()
{
    m_handshakeTimer.stop();
    m_backoffMs = m_settings.initialBackoffMs;
    m_error = TunnelError();
    setState(State::Connected, QStringLiteral("connected to %1 (%2), session resumed")
                                   .arg(m_settings.url.toDisplayString(), m_session->peerName()));
    // Connections that arrived while the session was held.
    for (ForwardListener *listener : std::as_const(m_listeners))
        listener->setSession(m_session);
}

void TunnelClient::redialNow()
{
    if (!m_retryTimer.isActive())
        return;
    m_retryTimer.stop();
    connectNow();
}

void TunnelClient::askToListen(ReverseForward *forward)
{
    const ForwardSpec spec = forward->spec();
    const quint32 requestId =
        m_session->requestListen(spec.bindHost, spec.bindPort, spec.transport);
    if (requestId != 0) {
        forward->setPending(requestId);
        return;
    }
    const QString reason =
        m_session->peerCapabilities().testFlag(Capability::AcceptsListen)
            ? QStringLiteral("%1 does not carry UDP").arg(m_settings.url.toDisplayString())
            : QStringLiteral("%1 does not accept reverse forwards")
                  .arg(m_settings.url.toDisplayString());
    qCWarning(lcClient).noquote() << QStringLiteral("-R %1: %2").arg(spec.toString(), reason);
    forward->setFailed(reason);
    Q_EMIT reverseForwardFailed(spec, reason);
}

void TunnelClient::onSocketError()
{
    if (!m_socket)
        return;
    if (m_tlsError.isError()) {
        fail(m_tlsError);
        return;
    }
    const QAbstractSocket::SocketError code = m_socket->error();
    const QString endpoint = endpointOf(m_settings.url);
    const QString url = m_settings.url.toDisplayString();
    const QString error = m_socket->errorString();
    if (code == QAbstractSocket::SslHandshakeFailedError) {
        fail(TunnelError(TunnelError::Kind::TlsHandshakeFailed, endpoint, error));
        return;
    }
    if (code == QAbstractSocket::SslInternalError) {
        TunnelError setupError(TunnelError::Kind::TlsSetupFailed, endpoint, error);
        setupError.file = m_settings.clientCertFile;
        fail(setupError);
        return;
    }
    if (code == QAbstractSocket::ProxyAuthenticationRequiredError ||
        (code == QAbstractSocket::SocketAccessError &&
         m_proxy.type() == QNetworkProxy::HttpProxy)) {
        fail(proxyProblem(code));
        return;
    }
    switch (code) {
    case QAbstractSocket::ProxyConnectionRefusedError:
    case QAbstractSocket::ProxyConnectionClosedError:
    case QAbstractSocket::ProxyConnectionTimeoutError:
    case QAbstractSocket::ProxyNotFoundError:
    case QAbstractSocket::ProxyProtocolError:
        connectionLost(proxyProblem(code));
        return;
    default:
        break;
    }
    const int status = httpStatusOf(error);
    if (status == 401) {
        fail(TunnelError(TunnelError::Kind::TokenRefused, url));
        return;
    }
    if (status == 403) {
        fail(TunnelError(TunnelError::Kind::UpgradeForbidden, url));
        return;
    }
    if (status == 404) {
        fail(TunnelError(TunnelError::Kind::NoTunnelAtPath, url));
        return;
    }
    if (status) {
        TunnelError statusError(TunnelError::Kind::HttpStatus, url, error);
        statusError.httpStatus = status;
        statusError.remoteReason = remoteReasonOf(error);
        connectionLost(statusError);
        return;
    }
    if (m_proxy.type() == QNetworkProxy::HttpProxy &&
        (code == QAbstractSocket::HostNotFoundError ||
         code == QAbstractSocket::ConnectionRefusedError)) {
        TunnelError proxyError(TunnelError::Kind::ProxyCannotReachRemote, endpoint, error);
        proxyError.proxy = ProxyResolver::describe(m_proxy);
        connectionLost(proxyError);
        return;
    }
    if (code == QAbstractSocket::RemoteHostClosedError && !m_encrypted &&
        m_settings.url.scheme() == QLatin1String("wss")) {
        connectionLost(TunnelError(TunnelError::Kind::ClosedDuringTlsHandshake, endpoint));
        return;
    }
    switch (code) {
    case QAbstractSocket::ConnectionRefusedError:
        connectionLost(TunnelError(TunnelError::Kind::ConnectionRefused, endpoint, error));
        return;
    case QAbstractSocket::HostNotFoundError:
        connectionLost(TunnelError(TunnelError::Kind::HostNotFound, endpoint, error));
        return;
    case QAbstractSocket::RemoteHostClosedError:
        connectionLost(TunnelError(TunnelError::Kind::ConnectionLost, url, error));
        return;
    default:
        connectionLost(TunnelError(TunnelError::Kind::ConnectionFailed, endpoint, error));
        return;
    }
}

TunnelError TunnelClient::proxyProblem(QAbstractSocket::SocketError error) const
{
    TunnelError problem(TunnelError::Kind::ProxyProblem, endpointOf(m_settings.url),
                        m_socket->errorString());
    problem.proxy = ProxyResolver::describe(m_proxy);
    switch (error) {
    case QAbstractSocket::ProxyAuthenticationRequiredError:
        problem.proxyUser = m_proxy.user();
        problem.kind = problem.proxyUser.isEmpty() ? TunnelError::Kind::ProxyAuthenticationRequired
                                                   : TunnelError::Kind::ProxyCredentialsRejected;
        break;
    case QAbstractSocket::SocketAccessError:
        problem.kind = TunnelError::Kind::ProxyRefusedConnect;
        break;
    case QAbstractSocket::ProxyConnectionRefusedError:
    case QAbstractSocket::ProxyConnectionTimeoutError:
    case QAbstractSocket::ProxyNotFoundError:
        problem.kind = TunnelError::Kind::ProxyUnreachable;
        break;
    default:
        break;
    }
    return problem;
}

void TunnelClient::onSslErrors(const QList<QSslError> &errors)
{
    const QSslCertificate certificate = m_socket->sslConfiguration().peerCertificate();
    const QString problem = TlsConfig::describe(errors);
    const QString fingerprint = TlsConfig::fingerprint(certificate);
    if (TlsConfig::matchesFingerprint(certificate, m_settings.trustedCertificateSha256)) {
        qCInfo(lcClient).noquote()
            << QStringLiteral("accepting the certificate of %1 (SHA-256 %2), trusted by its "
                              "fingerprint despite: %3")
                   .arg(endpointOf(m_settings.url), fingerprint, problem);
        m_socket->ignoreSslErrors(errors);
        return;
    }
    m_tlsError =
        TunnelError(TunnelError::Kind::CertificateNotTrusted, endpointOf(m_settings.url), problem);
    m_tlsError.certificateSha256 = fingerprint;
    m_tlsError.certificateProblems = TlsConfig::problemsOf(errors);
}

void TunnelClient::onEncrypted()
{
    m_encrypted = true;
    auto *sslSocket = qobject_cast<QSslSocket *>(sender());
    qCDebug(lcClient).noquote()
        << QStringLiteral("TLS session: %1").arg(sslSocket->sessionCipher().name());
    if (m_settings.pinSha256.isEmpty() || !m_socket)
        return;
    const QList<QSslCertificate> chain = sslSocket->peerCertificateChain();
    for (const QSslCertificate &certificate : chain) {
        if (TlsConfig::publicKeyPin(certificate) == m_settings.pinSha256)
            return;
    }
    const QSslCertificate leaf = sslSocket->peerCertificate();
    TunnelError error(TunnelError::Kind::PublicKeyPinMismatch, endpointOf(m_settings.url));
    error.expectedPin = m_settings.pinSha256;
    error.publicKeyPin = TlsConfig::publicKeyPin(leaf);
    error.certificateSha256 = TlsConfig::fingerprint(leaf);
    // Aborting here drops the queued upgrade request, token included, before it is encrypted.
    sslSocket->abort();
    fail(error);
}

void TunnelClient::onAlertReceived(QSsl::AlertLevel level, QSsl::AlertType type,
                                   const QString &description)
{
    if (level != QSsl::AlertLevel::Fatal || m_tlsError.isError())
        return;
    // OpenSSL names some alerts of TLS 1.3 only "unknown".
    const QString alert = type == QSsl::AlertType::CertificateRequired
                              ? QStringLiteral("certificate required")
                              : description;
    m_tlsError = TunnelError(TunnelError::Kind::TlsAlert, endpointOf(m_settings.url), alert);
    switch (type) {
    case QSsl::AlertType::CertificateRequired:
    case QSsl::AlertType::HandshakeFailure:
    case QSsl::AlertType::BadCertificate:
    case QSsl::AlertType::UnsupportedCertificate:
    case QSsl::AlertType::CertificateRevoked:
    case QSsl::AlertType::CertificateExpired:
    case QSsl::AlertType::CertificateUnknown:
    case QSsl::AlertType::UnknownCa:
    case QSsl::AlertType::AccessDenied:
        m_tlsError.kind = m_settings.clientCertFile.isEmpty()
                              ? TunnelError::Kind::ClientCertificateRequired
                              : TunnelError::Kind::ClientCertificateRefused;
        m_tlsError.file = m_settings.clientCertFile;
        break;
    default:
        break;
    }
}

void TunnelClient::fail(TunnelError error)
{
    m_handshakeTimer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    error.final = true;
    m_error = error;
    setState(State::Failed, error.toString());
    // A held session cannot come back once the remote refuses us.
    if (m_session)
        m_session->close(error.toString());
}

void TunnelClient::connectionLost(const QString &reason)
{
    connectionLost(
        TunnelError(TunnelError::Kind::ConnectionLost, m_settings.url.toDisplayString(), reason));
}

void TunnelClient::connectionLost(TunnelError error)
{
    const QString reason = error.toString();
    m_handshakeTimer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    if (m_session && m_session->isHeld()) {
        // Only this attempt failed; the session still waits for the next one.
        if (m_state == State::Stopped || m_state == State::Failed)
            return;
        error.final = false;
        m_error = error;
        setState(State::Retrying,
                 QStringLiteral("%1; retrying in %2 s to resume the session, %3 connections held")
                     .arg(reason)
                     .arg(double(m_backoffMs) / 1000.0, 0, 'f', 1)
                     .arg(m_session->channels().size()));
        m_retryTimer.start(m_backoffMs);
        m_backoffMs = qMin(m_backoffMs * 2, m_settings.maxBackoffMs);
        return;
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
    for (DatagramListener *listener : std::as_const(m_datagramListeners))
        listener->setSession(nullptr);
    // The remote closed their listeners with the session; the next session asks again.
    for (ReverseForward *forward : std::as_const(m_reverse))
        forward->setPending(0);
    if (m_state == State::Stopped || m_state == State::Failed)
        return;
    error.final = false;
    m_error = error;
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
    Q_EMIT stateChanged(state, m_error);
}

void TunnelClient::resolve(const QString &host, quint16 port, ChannelTransport transport,
                           QObject *context, Callback done)
{
    for (ReverseForward *forward : std::as_const(m_reverse)) {
        if (forward->state() != ReverseForward::State::Listening || forward->remotePort() != port ||
            forward->spec().bindHost != host || forward->spec().transport != transport)
            continue;
        const ForwardSpec spec = forward->spec();
        if (auto *channel = qobject_cast<Channel *>(context)) {
            forward->track(channel);
            channel->setEndpoints(QStringLiteral("%1 on the remote").arg(channel->target()),
                                  spec.targetEndpoint() + spec.transportSuffix());
        }
        HostResolver::resolve(
            spec.targetHost, context,
            [done, spec](const QList<QHostAddress> &addresses, const QString &error) {
                if (!error.isEmpty())
                    done(TargetResolution{{}, spec.targetPort, FailureCode::Unreachable, error});
                else
                    done(TargetResolution{addresses, spec.targetPort, FailureCode::Refused,
                                          QString()});
            });
        return;
    }
    done(TargetResolution{{},
                          port,
                          FailureCode::NotAllowed,
                          QStringLiteral("no reverse forward for %1%2")
                              .arg(formatEndpoint(host, port), transport == ChannelTransport::Udp
                                                                   ? QStringLiteral("/udp")
                                                                   : QString())});
}

} // namespace wstunnel
