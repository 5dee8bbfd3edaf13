#include "TunnelServer.h"

#include "Logging.h"
#include "UpgradeRequest.h"
#include "forward/ForwardListener.h"
#include "net/HostResolver.h"
#include "session/TunnelSession.h"

#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

namespace wstunnel {

namespace {

QString peerOf(const QTcpSocket *socket)
{
    return QStringLiteral("%1:%2").arg(socket->peerAddress().toString()).arg(socket->peerPort());
}

} // namespace

TunnelServer::TunnelServer(const ServerSettings &settings, const TokenStore &tokens,
                           const AllowList &allowList, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_tokens(tokens)
    , m_allowList(allowList)
    , m_webSocketServer(settings.name, QWebSocketServer::NonSecureMode)
{
    m_webSocketServer.setMaxPendingConnections(settings.maxSessions);
    connect(&m_tcpServer, &QTcpServer::newConnection, this, &TunnelServer::onNewConnection);
    connect(&m_webSocketServer, &QWebSocketServer::newConnection, this, &TunnelServer::onWebSocket);
}

TunnelServer::~TunnelServer()
{
    for (const QPointer<TunnelSession> &session : std::as_const(m_sessions))
        delete session.data();
}

bool TunnelServer::listen(QString *error)
{
    if (m_tcpServer.listen(m_settings.address, m_settings.port))
        return true;
    *error = QStringLiteral("cannot listen on %1:%2: %3")
                 .arg(m_settings.address.toString())
                 .arg(m_settings.port)
                 .arg(m_tcpServer.errorString());
    return false;
}

QString TunnelServer::url() const
{
    QString host = m_tcpServer.serverAddress().toString();
    if (m_tcpServer.serverAddress().protocol() == QAbstractSocket::IPv6Protocol)
        host = QStringLiteral("[%1]").arg(host);
    QString path = m_settings.path;
    if (!path.endsWith(QLatin1Char('/')))
        path += QLatin1Char('/');
    return QStringLiteral("ws://%1:%2%3").arg(host).arg(m_tcpServer.serverPort()).arg(path);
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
    m_tcpServer.close();
    for (TunnelSession *session : sessions())
        session->close(reason);
}

void TunnelServer::onNewConnection()
{
    while (QTcpSocket *socket = m_tcpServer.nextPendingConnection()) {
        socket->setParent(this);
        auto *timer = new QTimer(socket);
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, socket, [socket] {
            qCWarning(lcServer).noquote()
                << QStringLiteral("%1 sent no complete upgrade request in time").arg(peerOf(socket));
            socket->abort();
            socket->deleteLater();
        });
        timer->start(m_settings.upgradeTimeoutMs);
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { inspectRequest(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [socket] { socket->deleteLater(); });
    }
}

void TunnelServer::inspectRequest(QTcpSocket *socket)
{
    // Peek, so that QWebSocketServer later reads the very same request.
    const QByteArray buffered = socket->peek(UpgradeRequest::kMaxHeadSize + 1);
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
    if (!m_tokens.accepts(token)) {
        refuse(socket, 401, "Unauthorized", QStringLiteral("invalid token"),
               "WWW-Authenticate: Bearer realm=\"wstunnel\", error=\"invalid_token\"\r\n");
        return;
    }
    if (sessions().size() >= m_settings.maxSessions) {
        refuse(socket, 503, "Service Unavailable",
               QStringLiteral("session limit of %1 reached").arg(m_settings.maxSessions));
        return;
    }
    socket->disconnect(this);
    delete socket->findChild<QTimer *>();
    m_upgrading.removeAll(nullptr);
    m_upgrading.append(socket);
    m_webSocketServer.handleConnection(socket);
}

void TunnelServer::refuse(QTcpSocket *socket, int status, const QByteArray &statusText,
                          const QString &message, const QByteArray &extraHeaders)
{
    qCWarning(lcServer).noquote() << QStringLiteral("refused %1: HTTP %2, %3")
                                         .arg(peerOf(socket))
                                         .arg(status)
                                         .arg(message);
    socket->disconnect(this);
    const QByteArray body = message.toUtf8() + '\n';
    socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + statusText + "\r\n" + extraHeaders
                  + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "
                  + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    socket->disconnectFromHost();
}

void TunnelServer::onWebSocket()
{
    while (QWebSocket *webSocket = m_webSocketServer.nextPendingConnection()) {
        auto *session = new TunnelSession(webSocket, TunnelSession::Role::Acceptor,
                                          m_settings.limits, this);
        session->setTargetPolicy(&m_allowList);
        // A QWebSocket does not own the socket it was upgraded from; its session does.
        for (const QPointer<QTcpSocket> &socket : std::as_const(m_upgrading)) {
            if (socket && socket->peerPort() == webSocket->peerPort()
                && socket->peerAddress() == webSocket->peerAddress()) {
                socket->setParent(session);
                m_upgrading.removeAll(socket);
                break;
            }
        }
        m_sessions.append(session);
        const QString peer = session->peerAddress();
        qCInfo(lcServer).noquote() << QStringLiteral("session from %1 started").arg(peer);
        connect(session, &TunnelSession::listenRequested, this,
                [this, session](quint32 id, const QString &host, quint16 port) {
                    onListenRequested(session, id, host, port);
                });
        connect(session, &TunnelSession::closed, this, [this, session, peer](const QString &reason) {
            m_sessions.removeAll(session);
            session->deleteLater();
            Q_EMIT sessionEnded(peer, reason);
        });
        session->start(m_settings.name);
        Q_EMIT sessionStarted(session);
    }
}

void TunnelServer::onListenRequested(TunnelSession *session, quint32 requestId,
                                     const QString &bindHost, quint16 port)
{
    QHostAddress address = HostResolver::parseLiteral(bindHost);
    if (bindHost.isEmpty() || bindHost.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        address = QHostAddress(QHostAddress::LocalHost);
    if (address.isNull() || !address.isLoopback()) {
        const QString reason =
            QStringLiteral("reverse forwards may only bind loopback addresses, not '%1'").arg(bindHost);
        qCWarning(lcServer).noquote() << QStringLiteral("refused listen from %1: %2")
                                             .arg(session->peerAddress(), reason);
        session->refuseListen(requestId, FailureCode::NotAllowed, reason);
        return;
    }
    auto *listener = new ForwardListener(bindHost, port, session);
    QString error;
    if (!listener->start(address, port, &error)) {
        delete listener;
        qCWarning(lcServer).noquote() << QStringLiteral("refused listen from %1: %2")
                                             .arg(session->peerAddress(), error);
        session->refuseListen(requestId, FailureCode::AddressInUse, error);
        return;
    }
    listener->setTarget(bindHost, listener->serverPort());
    listener->setSession(session);
    qCInfo(lcServer).noquote() << QStringLiteral("reverse forwarding %1 -> %2")
                                      .arg(listener->localEndpoint(), session->peerAddress());
    session->answerListen(requestId, listener->serverPort());
}

} // namespace wstunnel
