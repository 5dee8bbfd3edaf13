#include "TunnelServer.h"

#include "Logging.h"
#include "UpgradeRequest.h"
#include "config/ForwardSpec.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"
#include "forward/RemoteListeners.h"
#include "link/WebSocketLink.h"
#include "net/AcceptThrottle.h"
#include "net/TlsConfig.h"
#include "session/ResumableSessions.h"
#include "session/TunnelSession.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

#include <limits>

namespace wstunnel {

namespace {

QString peerOf(const QTcpSocket *socket)
{
    return formatEndpoint(socket->peerAddress().toString(), socket->peerPort());
}

} // namespace

TunnelServer::TunnelServer(const ServerSettings &settings, const TokenStore &tokens,
                           const AllowList &allowList, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_tokens(tokens)
    , m_allowList(allowList)
    , m_tcpServer(nullptr)
    // TLS, when configured, is QSslServer's job: the WebSocket server gets decrypted sockets.
    , m_webSocketServer(settings.name, QWebSocketServer::NonSecureMode)
    , m_halfOpen(settings.maxHalfOpenPerSource, settings.maxHalfOpen)
    , m_penalties(settings.maxTokenFailures, settings.tokenPenaltyMs)
    , m_remoteListeners(new RemoteListeners(this))
    , m_resumable(new ResumableSessions(this))
{
    if (settings.tls.isEnabled()) {
        auto *sslServer = new QSslServer(this);
        sslServer->setHandshakeTimeout(settings.upgradeTimeoutMs);
        // A connection in its TLS handshake is a half-open request from its first moment, so a
        // flood of handshakes that never finish ages out under the same caps as one of upgrade
        // requests. QSslServer counts handshakes as pending connections and stops accepting at
        // its maximum (30 by default) until one times out: the caps bound them instead.
        sslServer->setMaxPendingConnections(std::numeric_limits<int>::max());
        connect(sslServer, &QTcpServer::newConnection, this,
                [this, sslServer] { onHandshakeStarting(sslServer); });
        logHandshakeFailures(sslServer);
        m_tcpServer = sslServer;
    } else {
        m_tcpServer = new QTcpServer(this);
    }
    m_webSocketServer.setMaxPendingConnections(settings.maxSessions);
    // Unlike newConnection, this waits for QSslServer's handshake.
    connect(m_tcpServer, &QTcpServer::pendingConnectionAvailable, this,
            &TunnelServer::onNewConnection);
    connect(&m_webSocketServer, &QWebSocketServer::newConnection, this, &TunnelServer::onWebSocket);
    m_acceptThrottle = new AcceptThrottle(m_tcpServer);
    // Requests that proved nothing yet are the cheapest to give up for a descriptor.
    connect(m_acceptThrottle, &AcceptThrottle::descriptorsExhausted, this, [this] {
        const QList<QTcpSocket *> halfOpen = m_halfOpen.takeAll();
        if (!halfOpen.isEmpty())
            qCWarning(lcServer).noquote()
                << QStringLiteral("closed %1 connections that had not sent their upgrade request, "
                                  "to free file descriptors")
                       .arg(halfOpen.size());
        for (QTcpSocket *socket : halfOpen)
            closeHalfOpen(socket);
    });
}

TunnelServer::~TunnelServer()
{
    for (const QPointer<TunnelSession> &session : std::as_const(m_sessions))
        delete session.data();
}

bool TunnelServer::listen(QString *error)
{
    if (m_settings.tls.isEnabled() && !reloadTls(error))
        return false;
    m_tcpServer->setListenBacklogSize(ForwardListener::kListenBacklog);
    if (m_tcpServer->listen(m_settings.address, m_settings.port)) {
        m_acceptThrottle->arm();
        // Listening again after shutdown() reuses the port clients know.
        m_settings.port = m_tcpServer->serverPort();
        return true;
    }
    *error = QStringLiteral("cannot listen on %1:%2: %3")
                 .arg(m_settings.address.toString())
                 .arg(m_settings.port)
                 .arg(m_tcpServer->errorString());
    return false;
}

bool TunnelServer::reloadTls(QString *error)
{
    auto *sslServer = qobject_cast<QSslServer *>(m_tcpServer);
    if (!sslServer) {
        *error = QStringLiteral("TLS is not configured (no --tls-cert)");
        return false;
    }
    const std::optional<QSslConfiguration> configuration = TlsConfig::server(m_settings.tls, error);
    if (!configuration)
        return false;
    sslServer->setSslConfiguration(*configuration);
    const QSslCertificate certificate = configuration->localCertificate();
    qCInfo(lcServer).noquote()
        << QStringLiteral("TLS certificate %1 for %2, valid until %3, SHA-256 %4%5")
               .arg(m_settings.tls.certFile,
                    certificate.subjectInfo(QSslCertificate::CommonName).join(QLatin1Char(',')),
                    certificate.expiryDate().toString(Qt::ISODate),
                    TlsConfig::fingerprint(certificate),
                    m_settings.tls.clientCaFile.isEmpty()
                        ? QString()
                        : QStringLiteral("; client certificates from %1 required")
                              .arg(m_settings.tls.clientCaFile));
    return true;
}

void TunnelServer::logHandshakeFailures(QSslServer *server)
{
    connect(server, &QSslServer::handshakeInterruptedOnError, this,
            [](QSslSocket *socket, const QSslError &error) {
                qCWarning(lcServer).noquote()
                    << QStringLiteral("refused %1 during the TLS handshake: client certificate: %2")
                           .arg(peerOf(socket), error.errorString());
            });
    connect(server, &QSslServer::alertReceived, this,
            [](QSslSocket *socket, QSsl::AlertLevel level, QSsl::AlertType,
               const QString &description) {
                if (level == QSsl::AlertLevel::Fatal)
                    qCWarning(lcServer).noquote()
                        << QStringLiteral("%1 ended the TLS handshake: %2 (does the client "
                                          "trust this server's certificate?)")
                               .arg(peerOf(socket), description);
            });
    connect(server, &QSslServer::errorOccurred, this,
            [](QSslSocket *socket, QAbstractSocket::SocketError) {
                qCWarning(lcServer).noquote() << QStringLiteral("TLS handshake with %1 failed: %2")
                                                     .arg(peerOf(socket), socket->errorString());
            });
}

QString TunnelServer::url() const
{
    QString host = m_tcpServer->serverAddress().toString();
    if (m_tcpServer->serverAddress().protocol() == QAbstractSocket::IPv6Protocol)
        host = QStringLiteral("[%1]").arg(host);
    QString path = m_settings.path;
    if (!path.endsWith(QLatin1Char('/')))
        path += QLatin1Char('/');
    return QStringLiteral("%1://%2:%3%4")
        .arg(m_settings.tls.isEnabled() ? QStringLiteral("wss") : QStringLiteral("ws"), host)
        .arg(m_tcpServer->serverPort())
        .arg(path);
}

QList<TunnelSession *> TunnelServer::sessions() const
{
    QList<TunnelSession *> live;
    for (const QPointer<TunnelSession> &session : m_sessions) {
        if (session)
            live.append(session);
    }
    return live;
}

void TunnelServer::shutdown(const QString &reason)
{
    m_tcpServer->close();
    for (TunnelSession *session : sessions())
        session->close(reason);
}

void TunnelServer::onNewConnection()
{
    while (QTcpSocket *socket = m_tcpServer->nextPendingConnection()) {
        socket->setParent(this);
        // Small messages must not wait for the acknowledgement of the previous one (Nagle).
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto *timer = new QTimer(socket);
        timer->setSingleShot(true);
        // Taken now: a socket that has gone has no peer address left to name.
        const QString peer = peerOf(socket);
        connect(timer, &QTimer::timeout, socket, [socket, peer] {
            qCWarning(lcServer).noquote()
                << QStringLiteral("%1 sent no complete upgrade request in time").arg(peer);
            socket->abort();
            socket->deleteLater();
        });
        timer->start(m_settings.upgradeTimeoutMs);
        addHalfOpen(socket);
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { inspectRequest(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [socket] { socket->deleteLater(); });
        // A TLS client may send its request with its last handshake message.
        if (socket->bytesAvailable() > 0)
            inspectRequest(socket);
    }
}

void TunnelServer::addHalfOpen(QTcpSocket *socket)
{
    if (m_halfOpen.size() == 0)
        m_crowdingSources.clear();
    const QList<QTcpSocket *> evicted = m_halfOpen.add(socket);
    if (!evicted.isEmpty() && !m_crowdingSources.contains(socket->peerAddress())) {
        m_crowdingSources.insert(socket->peerAddress());
        qCWarning(lcServer).noquote()
            << QStringLiteral("%1 keeps more than %2 upgrade requests open (or all sources "
                              "together more than %3): closing the oldest")
                   .arg(socket->peerAddress().toString())
                   .arg(m_settings.maxHalfOpenPerSource)
                   .arg(m_settings.maxHalfOpen);
    }
    for (QTcpSocket *stale : evicted)
        closeHalfOpen(stale);
}

void TunnelServer::onHandshakeStarting(QSslServer *server)
{
    // QSslServer has just made the connection's socket, its newest child; it hands it over only
    // once the handshake is done.
    const QObjectList &children = server->children();
    for (auto it = children.crbegin(); it != children.crend(); ++it) {
        if (auto *socket = qobject_cast<QSslSocket *>(*it)) {
            addHalfOpen(socket);
            return;
        }
    }
}

void TunnelServer::inspectRequest(QTcpSocket *socket)
{
    // Peek, so that QWebSocketServer later reads the very same request.
    const QByteArray buffered = socket->peek(UpgradeRequest::kMaxHeadSize + 1);
    // 0x16 opens a TLS handshake record: a wss:// client at a plain port, which would otherwise
    // wait for the upgrade timeout.
    if (buffered.startsWith('\x16') && !qobject_cast<QSslSocket *>(socket)) {
        qCWarning(lcServer).noquote()
            << QStringLiteral("refused %1: it speaks TLS, but this port serves plain ws:// (no "
                              "--tls-cert)")
                   .arg(peerOf(socket));
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
        return;
    }
    const QHostAddress source = socket->peerAddress();
    if (m_penalties.isPenalized(source)) {
        answerRefusal(socket, 429, "Too Many Requests",
                      QStringLiteral("too many invalid tokens from %1; try again later")
                          .arg(source.toString()),
                      "Retry-After: " + QByteArray::number(m_penalties.penaltyMs() / 1000) +
                          "\r\n");
        return;
    }
    const qsizetype end = UpgradeRequest::headEnd(buffered);
    if (end < 0) {
        if (buffered.size() > UpgradeRequest::kMaxHeadSize)
            refuse(socket, 431, "Request Header Fields Too Large",
                   QStringLiteral("request head over %1 bytes").arg(UpgradeRequest::kMaxHeadSize));
        return;
    }
    QString error;
    const std::optional<UpgradeRequest> request = UpgradeRequest::parse(buffered.left(end), &error);
    if (!request) {
        refuse(socket, 400, "Bad Request", error);
        return;
    }
    if (!request->isWebSocketUpgrade()) {
        refuse(socket, 426, "Upgrade Required",
               QStringLiteral("not a WebSocket upgrade (this is a WSTunnel endpoint)"),
               "Upgrade: websocket\r\n");
        return;
    }
    const QString path = QString::fromUtf8(request->path);
    if (path != m_settings.path && path != m_settings.path + QLatin1Char('/')) {
        refuse(socket, 404, "Not Found", QStringLiteral("no tunnel at path %1").arg(path));
        return;
    }
    const QByteArray token = TokenStore::bearerToken(request->header("authorization"));
    if (token.isEmpty()) {
        refuse(socket, 401, "Unauthorized", QStringLiteral("no bearer token presented"),
               "WWW-Authenticate: Bearer realm=\"wstunnel\"\r\n");
        return;
    }
    std::optional<Identity> identity = m_tokens.identify(token);
    if (!identity) {
        refuse(socket, 401, "Unauthorized", QStringLiteral("invalid token"),
               "WWW-Authenticate: Bearer realm=\"wstunnel\", error=\"invalid_token\"\r\n");
        if (m_penalties.recordFailure(source))
            qCWarning(lcServer).noquote()
                << QStringLiteral("%1 presented %2 invalid tokens in a row: refusing everything "
                                  "from it for %3 s")
                       .arg(source.toString())
                       .arg(m_settings.maxTokenFailures)
                       .arg(m_settings.tokenPenaltyMs / 1000);
        return;
    }
    m_penalties.recordSuccess(source);
    if (const std::optional<Refusal> refusal = admit(*identity, *request)) {
        refuse(socket, refusal->status, refusal->statusText, refusal->message);
        return;
    }
    if (sessions().size() >= m_settings.maxSessions) {
        const QString reason =
            QStringLiteral("session limit of %1 reached").arg(m_settings.maxSessions);
        // Also in the status line: a WebSocket client sees neither the body nor the headers of a
        // refused upgrade, only the status line.
        refuse(socket, 503, "Service Unavailable: " + reason.toUtf8(), reason);
        return;
    }
    socket->disconnect(this);
    delete socket->findChild<QTimer *>();
    m_halfOpen.remove(socket);
    m_upgrading.removeIf([](const Upgrading &upgrading) { return upgrading.socket.isNull(); });
    m_upgrading.append(Upgrading{socket, *identity});
    m_webSocketServer.handleConnection(socket);
}

void TunnelServer::closeHalfOpen(QTcpSocket *socket)
{
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
}

void TunnelServer::refuse(QTcpSocket *socket, int status, const QByteArray &statusText,
                          const QString &message, const QByteArray &extraHeaders)
{
    qCWarning(lcServer).noquote() << QStringLiteral("refused %1: HTTP %2, %3")
                                         .arg(peerOf(socket), QString::number(status), message);
    answerRefusal(socket, status, statusText, message, extraHeaders);
}

void TunnelServer::answerRefusal(QTcpSocket *socket, int status, const QByteArray &statusText,
                                 const QString &message, const QByteArray &extraHeaders)
{
    socket->disconnect(this);
    m_halfOpen.remove(socket);
    // The refusal is logged already: the deadline now only bounds how long the answer may take
    // to leave, and ends the socket silently.
    if (QTimer *timer = socket->findChild<QTimer *>()) {
        timer->disconnect(socket);
        connect(timer, &QTimer::timeout, socket, &QTcpSocket::abort);
    }
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    const QByteArray body = message.toUtf8() + '\n';
    socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + statusText + "\r\n" +
                  extraHeaders + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                  QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    socket->disconnectFromHost();
}

void TunnelServer::onWebSocket()
{
    while (QWebSocket *webSocket = m_webSocketServer.nextPendingConnection()) {
        // A QWebSocket does not own the socket it was upgraded from; its session does.
        QTcpSocket *transport = nullptr;
        Identity identity;
        for (qsizetype i = 0; i < m_upgrading.size(); ++i) {
            const Upgrading &upgrading = m_upgrading.at(i);
            if (upgrading.socket && upgrading.socket->peerPort() == webSocket->peerPort() &&
                upgrading.socket->peerAddress() == webSocket->peerAddress()) {
                transport = upgrading.socket;
                identity = upgrading.identity;
                m_upgrading.removeAt(i);
                break;
            }
        }
        WebSocketLink::Settings linkSettings;
        linkSettings.isClient = false;
        linkSettings.maxMessageSize = m_settings.limits.maxMessageSize;
        linkSettings.keepAliveMs = m_settings.limits.keepAliveMs;
        auto *link = new WebSocketLink(webSocket, linkSettings, nullptr, transport);
        if (transport)
            transport->setParent(link);
        auto *session =
            new TunnelSession(link, TunnelSession::Role::Acceptor, m_settings.limits, this);
        Capabilities capabilities = Capability::AcceptsListen | Capability::DatagramChannels;
        if (m_settings.limits.resumeTimeoutMs > 0)
            capabilities |= Capability::Resume;
        session->setLocalCapabilities(capabilities);
        session->setTargetPolicy(targetPolicyFor(identity));
        watchResume(session, identity.name);
        m_sessions.append(session);
        const QString peer = session->peerAddress();
        qCInfo(lcServer).noquote()
            << QStringLiteral("session from %1 (%2) started").arg(peer, identity.name);
        adoptSession(session, identity);
        connect(session, &TunnelSession::closed, this,
                [this, session, peer](const QString &reason) {
                    m_sessions.removeAll(session);
                    session->deleteLater();
                    Q_EMIT sessionEnded(peer, reason);
                });
        session->start(m_settings.name);
        Q_EMIT sessionStarted(session);
    }
}

void TunnelServer::watchResume(TunnelSession *session, const QString &identity)
{
    connect(session, &TunnelSession::ready, this, [this, session, identity] {
        if (session->canResume())
            m_resumable->add(session, identity);
    });
    connect(session, &TunnelSession::resumeRequested, this,
            [this, session, identity](const QByteArray &id, const QByteArray &secret,
                                      quint64 received) {
                m_resumable->resume(session, identity, id, secret, received);
            });
    connect(session, &TunnelSession::linkLost, this,
            [this, identity] { m_resumable->limitHeld(identity, m_settings.maxHeldPerIdentity); });
}

std::shared_ptr<TargetPolicy> TunnelServer::targetPolicyFor(const Identity &identity) const
{
    // Every desktop of serve may reach what the allow-list permits; a session still gets a policy
    // of its own, which identities with narrower rights (a hub's) will not share.
    Q_UNUSED(identity)
    return std::make_shared<AllowList>(m_allowList);
}

std::optional<TunnelServer::Refusal> TunnelServer::admit(Identity &identity,
                                                         const UpgradeRequest &request) const
{
    Q_UNUSED(identity)
    Q_UNUSED(request)
    return std::nullopt;
}

void TunnelServer::adoptSession(TunnelSession *session, const Identity &identity)
{
    Q_UNUSED(identity)
    m_remoteListeners->serve(session);
}

} // namespace wstunnel
