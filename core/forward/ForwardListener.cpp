#include "ForwardListener.h"

#include "Logging.h"
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
    if (!m_session || !m_session->isReady())
        return;
    m_waitTimer.stop();
    const QList<WaitingConnection> waiting = std::exchange(m_waiting, {});
    for (const WaitingConnection &connection : waiting) {
        if (connection.socket)
            carry(connection.socket);
    }
}

void ForwardListener::expireWaiting()
{
    while (!m_waiting.isEmpty() && (m_waiting.constFirst().since.elapsed() >= kSessionWaitMs ||
                                    !m_waiting.constFirst().socket)) {
        StreamSocket *socket = m_waiting.takeFirst().socket;
        if (!socket)
            continue;
        qCWarning(lcSession).noquote()
            << QStringLiteral("closing connection from %1 to %2: the remote is not connected "
                              "(waited %3 s)")
                   .arg(socket->peerAddress(), localEndpoint())
                   .arg(kSessionWaitMs / 1000);
        socket->abort();
        socket->deleteLater();
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
    return formatEndpoint(m_targetHost, m_targetPort);
}

void ForwardListener::closeChannels(const QString &reason)
{
    ChannelGroup::closeChannels(reason);
    for (const WaitingConnection &connection : std::exchange(m_waiting, {})) {
        if (connection.socket) {
            connection.socket->abort();
            connection.socket->deleteLater();
        }
    }
    m_waitTimer.stop();
}

void ForwardListener::incomingConnection(qintptr descriptor)
{
    auto *socket = new StreamSocket(this);
    socket->adopt(descriptor);
    if (m_session && m_session->isReady()) {
        carry(socket);
        return;
    }
    if (m_waiting.size() >= kMaxWaiting) {
        qCWarning(lcSession).noquote()
            << QStringLiteral("closing connection from %1 to %2: the remote is not connected and "
                              "%3 connections are already waiting for it")
                   .arg(socket->peerAddress(), localEndpoint())
                   .arg(kMaxWaiting);
        socket->abort();
        socket->deleteLater();
        return;
    }
    qCDebug(lcSession).noquote() << QStringLiteral("connection from %1 to %2 waits for the remote")
                                        .arg(socket->peerAddress(), localEndpoint());
    m_waiting.append(WaitingConnection{socket, {}});
    m_waiting.last().since.start();
    if (!m_waitTimer.isActive())
        m_waitTimer.start();
}

void ForwardListener::carry(StreamSocket *socket)
{
    Channel *channel = m_session->openChannel(socket, m_targetHost, m_targetPort);
    if (!channel)
        return;
    connect(channel, &Channel::opened, this, [this, channel] { Q_EMIT channelOpened(channel); });
    trackChannel(channel, this,
                 [this](const ChannelSummary &summary) { Q_EMIT channelClosed(summary); });
}

} // namespace wstunnel
