#include "DatagramListener.h"

#include "DatagramFlow.h"
#include "Logging.h"
#include "config/ForwardSpec.h"
#include "session/TunnelSession.h"

#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wstunnel {

namespace {

// Datagrams read per readiness notification before other sockets get their turn.
constexpr int kDatagramsPerWakeup = 64;
// Room in the kernel for a burst (many clients' first requests at once) while the event loop is
// busy; the kernel caps it at net.core.rmem_max.
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

} // namespace

DatagramListener::DatagramListener(const QString &targetHost, quint16 targetPort, QObject *parent)
    : QObject(parent)
    , m_targetHost(targetHost)
    , m_targetPort(targetPort)
    , m_buffer(protocol::kMaxDatagramSize, Qt::Uninitialized)
{
    m_clock.start();
}

DatagramListener::~DatagramListener()
{
    close();
}

bool DatagramListener::start(const QHostAddress &address, quint16 port, QString *error)
{
    const SocketAddress wanted = SocketAddress::from(address, port);
    const int fd = ::socket(wanted.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    m_allInterfaces = address.protocol() == QAbstractSocket::AnyIPProtocol;
    // Whatever the system's default (net.ipv6.bindv6only), '*' takes IPv4 datagrams as well.
    const int v6Only = m_allInterfaces ? 0 : 1;
    if (fd >= 0 && wanted.family() == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6Only, sizeof v6Only);
    if (fd < 0 || ::bind(fd, wanted.data(), wanted.length) != 0) {
        m_addressInUse = errno == EADDRINUSE;
        m_errorString = QString::fromLocal8Bit(strerror(errno)).toLower();
        *error = QStringLiteral("cannot listen on %1/udp: %2")
                     .arg(formatEndpoint(address.toString(), port), m_errorString);
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    const int receiveBuffer = kReceiveBufferBytes;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
    // The kernel counts what it drops because this socket's buffer was full; recvmsg() reports
    // the count, so these drops are reported with the others.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    m_boundAddress.length = sizeof m_boundAddress.storage;
    getsockname(fd, reinterpret_cast<sockaddr *>(&m_boundAddress.storage), &m_boundAddress.length);
    m_fd = fd;
    m_notifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &DatagramListener::readDatagrams);
    return true;
}

QString DatagramListener::localEndpoint() const
{
    return m_allInterfaces ? formatEndpoint(ForwardSpec::kAllInterfaces, m_boundAddress.port())
                           : m_boundAddress.toString();
}

void DatagramListener::close()
{
    delete m_notifier;
    m_notifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void DatagramListener::setSession(TunnelSession *session)
{
    m_session = session;
    m_peerTakesDatagrams =
        session && session->peerCapabilities().testFlag(Capability::DatagramChannels);
    if (session && session->isReady() && !m_peerTakesDatagrams)
        qCWarning(lcSession).noquote()
            << QStringLiteral("%1/udp -> %2: %3 does not carry UDP; its datagrams are dropped")
                   .arg(localEndpoint(), target(), session->peerAddress());
}

void DatagramListener::setTarget(const QString &host, quint16 port)
{
    m_targetHost = host;
    m_targetPort = port;
}

QString DatagramListener::target() const
{
    return formatEndpoint(m_targetHost, m_targetPort) + QStringLiteral("/udp");
}

quint64 DatagramListener::datagramsDropped() const
{
    quint64 total = m_dropped + m_kernelDropped + m_finishedFlowsDropped;
    for (const Channel *channel : channels())
        total += channel->droppedIn() + channel->droppedOut();
    return total;
}

void DatagramListener::readDatagrams()
{
    // Like a connection to a TCP forward, a datagram says the session is wanted now: the client
    // need not wait for its backoff to redial.
    bool redialWanted = false;
    for (int i = 0; i < kDatagramsPerWakeup && m_fd >= 0; ++i) {
        SocketAddress source;
        iovec data{m_buffer.data(), size_t(m_buffer.size())};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(quint32))];
        msghdr header{};
        header.msg_name = &source.storage;
        header.msg_namelen = sizeof source.storage;
        header.msg_iov = &data;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        // MSG_TRUNC returns the datagram's real length, so a larger one is recognised.
        const ssize_t n = ::recvmsg(m_fd, &header, MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                qCWarning(lcSession).noquote()
                    << QStringLiteral("reading %1/udp failed: %2")
                           .arg(localEndpoint(), QString::fromLocal8Bit(strerror(errno)));
            break;
        }
        source.length = header.msg_namelen;
        for (cmsghdr *c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                quint32 kernelDropped = 0;
                memcpy(&kernelDropped, CMSG_DATA(c), sizeof kernelDropped);
                m_kernelDropped = kernelDropped;
            }
        }
        redialWanted = redialWanted || !m_session || !m_session->isReady() || m_session->isHeld();
        // Empty datagrams are not carried; larger ones than 65,507 bytes (IPv6) cannot be.
        if (n == 0 || n > m_buffer.size() || !m_session || !m_session->isReady() ||
            !m_peerTakesDatagrams) {
            ++m_dropped;
            continue;
        }
        const QByteArray key = source.key();
        DatagramFlow *flow = m_flows.value(key);
        if (!flow)
            flow = openFlow(source, key);
        if (!flow) {
            ++m_dropped;
            continue;
        }
        m_recency.touch(flow, m_clock.elapsed());
        if (!flow->receive(QByteArrayView(m_buffer.constData(), n)))
            ++m_dropped;
    }
    if (redialWanted)
        Q_EMIT sessionWanted();
}

DatagramFlow *DatagramListener::openFlow(const SocketAddress &source, const QByteArray &key)
{
    while (m_flows.size() >= m_maxFlows && !m_recency.isEmpty()) {
        DatagramFlow *oldest = m_recency.oldest();
        m_recency.remove(oldest);
        ++m_flowsEvicted;
        if (Channel *channel = oldest->channel())
            channel->endFlow(FailureCode::LimitReached,
                             QStringLiteral("evicted: %1/udp reached its limit of %2 flows")
                                 .arg(localEndpoint())
                                 .arg(m_maxFlows));
        forgetFlow(oldest);
    }
    auto *flow = new DatagramFlow(this, source);
    Channel *channel = m_session->openChannel(flow, m_targetHost, m_targetPort);
    if (!channel)
        return nullptr;
    flow->setChannel(channel);
    m_flows.insert(key, flow);
    connect(channel, &Channel::opened, this, [this, channel] { Q_EMIT channelOpened(channel); });
    trackChannel(channel, this, [this](const ChannelSummary &summary) {
        m_finishedFlowsDropped += summary.droppedIn + summary.droppedOut;
        Q_EMIT channelClosed(summary);
    });
    return flow;
}

qint64 DatagramListener::sendToSource(DatagramFlow *flow, QByteArrayView datagram)
{
    if (m_fd < 0)
        return 0;
    for (;;) {
        const ssize_t n = ::sendto(m_fd, datagram.data(), size_t(datagram.size()), 0,
                                   flow->source().data(), flow->source().length);
        if (n >= 0) {
            m_recency.touch(flow, m_clock.elapsed());
            return n;
        }
        if (errno != EINTR)
            return 0; // full, or the source is gone: the reply is lost, as on the way
    }
}

void DatagramListener::forgetFlow(DatagramFlow *flow)
{
    m_recency.remove(flow);
    const QByteArray key = flow->source().key();
    if (m_flows.value(key) == flow)
        m_flows.remove(key);
}

} // namespace wstunnel
