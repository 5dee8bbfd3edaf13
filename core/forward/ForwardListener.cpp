#include "ForwardListener.h"

#include "Logging.h"
#include "SocksEndpoint.h"
#include "config/ForwardSpec.h"
#include "net/AcceptThrottle.h"
#include "net/StreamSocket.h"
#include "session/TunnelSession.h"

#include <utility>

namespace wstunnel {

namespace {

QString endpoint(const QHostAddress &address, quint16 port)
{
    // The dual-stack address prints as "::", which reads as IPv6 only.
    if (address.protocol() == QAbstractSocket::AnyIPProtocol)
        return formatEndpoint(ForwardSpec::kAllInterfaces, port);
    return formatEndpoint(address.toString(), port);
}

} // namespace

ForwardListener::ForwardListener(const QString &targetHost, quint16 targetPort, QObject *parent)
    : QTcpServer(parent)
    , m_targetHost(targetHost)
    , m_targetPort(targetPort)
{
    m_waitTimer.setInterval(500);
    connect(&m_waitTimer, &QTimer::timeout, this, &ForwardListener::expireWaiting);
    m_acceptThrottle = new AcceptThrottle(this);
}

ForwardListener::ForwardListener(QObject *parent)
    : ForwardListener(QString(), 0, parent)
{
    m_dynamic = true;
}

bool ForwardListener::start(const QHostAddress &address, quint16 port, QString *error)
{
    // Connection pools open dozens of connections at once; the default backlog of 50 would make
    // the kernel drop or reset some of them while the event loop is busy.
    setListenBacklogSize(kListenBacklog);
    if (listen(address, port)) {
        m_acceptThrottle->arm();
        return true;
    }
    *error = QStringLiteral("cannot listen on %1: %2").arg(endpoint(address, port), errorString());
    return false;
}

void ForwardListener::setSession(TunnelSession *session)
{
    m_session = session;
    if (!m_session || !m_session->isReady() || m_session->isHeld())
        return;
    m_waitTimer.stop();
    const QList<WaitingConnection> waiting = std::exchange(m_waiting, {});
    for (const WaitingConnection &connection : waiting) {
        if (connection.endpoint)
            carry(connection.endpoint, connection.host, connection.port);
    }
}

void ForwardListener::dropWaiting(ChannelEndpoint *endpoint)
{
    if (auto *socks = qobject_cast<SocksEndpoint *>(endpoint))
        socks->refuse(SocksHandshake::Reply::GeneralFailure);
    else
        endpoint->abort();
    endpoint->deleteLater();
}

void ForwardListener::expireWaiting()
{
    while (!m_waiting.isEmpty() && (m_waiting.constFirst().since.elapsed() >= kSessionWaitMs ||
                                    !m_waiting.constFirst().endpoint)) {
        ChannelEndpoint *endpoint = m_waiting.takeFirst().endpoint;
        if (!endpoint)
            continue;
        qCWarning(lcSession).noquote()
            << QStringLiteral("closing connection from %1 to %2: the remote is not connected "
                              "(waited %3 s)")
                   .arg(endpoint->peerAddress(), localEndpoint())
                   .arg(kSessionWaitMs / 1000);
        dropWaiting(endpoint);
    }
    if (m_waiting.isEmpty())
        m_waitTimer.stop();
}

void ForwardListener::setTarget(const QString &host, quint16 port)
{
    m_targetHost = host;
    m_targetPort = port;
}

QString ForwardListener::localEndpoint() const
{
    return endpoint(serverAddress(), serverPort());
}

QString ForwardListener::target() const
{
    if (m_dynamic)
        return QStringLiteral("SOCKS");
    return formatEndpoint(m_targetHost, m_targetPort);
}

void ForwardListener::closeChannels(const QString &reason)
{
    ChannelGroup::closeChannels(reason);
    for (const WaitingConnection &connection : std::exchange(m_waiting, {})) {
        if (connection.endpoint)
            dropWaiting(connection.endpoint);
    }
    m_waitTimer.stop();
}

void ForwardListener::incomingConnection(qintptr descriptor)
{
    auto *socket = new StreamSocket(this);
    socket->adopt(descriptor);
    if (m_dynamic)
        acceptSocks(new SocksEndpoint(socket, this));
    else
        dispatch(socket, m_targetHost, m_targetPort);
}

void ForwardListener::acceptSocks(SocksEndpoint *endpoint)
{
    connect(endpoint, &SocksEndpoint::requested, this,
            [this, endpoint] { dispatch(endpoint, endpoint->host(), endpoint->port()); });
    connect(endpoint, &SocksEndpoint::handshakeFailed, this,
            [this, endpoint](const QString &reason) {
                qCWarning(lcSession).noquote()
                    << QStringLiteral("SOCKS client %1 on %2: %3")
                           .arg(endpoint->peerAddress(), localEndpoint(), reason);
                endpoint->deleteLater();
            });
}

void ForwardListener::dispatch(ChannelEndpoint *endpoint, const QString &host, quint16 port)
{
    // While the session is held, a new connection waits for it to be resumed, or for a new
    // session if the remote no longer knows it.
    if (m_session && m_session->isReady() && !m_session->isHeld()) {
        carry(endpoint, host, port);
        return;
    }
    if (m_waiting.size() >= kMaxWaiting) {
        qCWarning(lcSession).noquote()
            << QStringLiteral("closing connection from %1 to %2: the remote is not connected and "
                              "%3 connections are already waiting for it")
                   .arg(endpoint->peerAddress(), localEndpoint())
                   .arg(kMaxWaiting);
        dropWaiting(endpoint);
        return;
    }
    qCDebug(lcSession).noquote() << QStringLiteral("connection from %1 to %2 waits for the remote")
                                        .arg(endpoint->peerAddress(), localEndpoint());
    m_waiting.append(WaitingConnection{endpoint, host, port, {}});
    m_waiting.last().since.start();
    if (!m_waitTimer.isActive())
        m_waitTimer.start();
    Q_EMIT sessionWanted();
}

void ForwardListener::carry(ChannelEndpoint *endpoint, const QString &host, quint16 port)
{
    Channel *channel = m_session->openChannel(endpoint, host, port);
    if (!channel)
        return;
    if (auto *socks = qobject_cast<SocksEndpoint *>(endpoint)) {
        // The reply goes out before the channel writes the target's first bytes.
        connect(channel, &Channel::opened, socks, &SocksEndpoint::replyOpened);
        connect(channel, &Channel::openFailed, socks, &SocksEndpoint::replyFailed);
    }
    connect(channel, &Channel::opened, this, [this, channel] { Q_EMIT channelOpened(channel); });
    trackChannel(channel, this,
                 [this](const ChannelSummary &summary) { Q_EMIT channelClosed(summary); });
}

} // namespace wstunnel
