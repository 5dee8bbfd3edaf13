#include "DatagramSocket.h"

#include "Logging.h"
#include "SocketAddress.h"

#include <QMetaObject>
#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace wstunnel {

namespace {

QString errnoText(int error)
{
    return QString::fromLocal8Bit(strerror(error)).toLower();
}

} // namespace

DatagramSocket::DatagramSocket(QObject *parent)
    : ChannelEndpoint(parent)
{
}

DatagramSocket::~DatagramSocket()
{
    release();
}

void DatagramSocket::connectToAddresses(const QList<QHostAddress> &addresses, quint16 port, int)
{
    int lastError = EHOSTUNREACH;
    for (const QHostAddress &address : addresses) {
        const SocketAddress target = SocketAddress::from(address, port);
        const int fd = ::socket(target.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            lastError = errno;
            continue;
        }
        if (::connect(fd, target.data(), target.length) != 0) {
            lastError = errno;
            ::close(fd);
            continue;
        }
        m_fd = fd;
        m_notifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
        m_notifier->setEnabled(m_readEnabled);
        connect(m_notifier, &QSocketNotifier::activated, this, &DatagramSocket::readyRead);
        QMetaObject::invokeMethod(this, &DatagramSocket::connected, Qt::QueuedConnection);
        return;
    }
    m_errorString = errnoText(lastError);
    QMetaObject::invokeMethod(
        this,
        [this, reason = m_errorString] { Q_EMIT connectFailed(FailureCode::Unreachable, reason); },
        Qt::QueuedConnection);
}

qint64 DatagramSocket::read(char *buffer, qint64 maxSize)
{
    if (m_fd < 0)
        return kError;
    // Bounded, so that a stream of datagrams skipped here cannot hold the event loop; what is
    // left is announced again by the notifier.
    for (int attempt = 0; attempt < 64; ++attempt) {
        // MSG_TRUNC returns the datagram's real length, so a larger one is recognised.
        const ssize_t n = ::recv(m_fd, buffer, size_t(maxSize), MSG_TRUNC);
        if (n > maxSize) {
            qCDebug(lcNet).noquote()
                << QStringLiteral("dropped a datagram of %1 bytes from %2 (more than %3)")
                       .arg(n)
                       .arg(peerAddress())
                       .arg(maxSize);
            continue;
        }
        // Empty datagrams are not carried: a data message holds 1 to 65,507 bytes.
        if (n == 0)
            continue;
        if (n > 0)
            return n;
        // ECONNREFUSED reports an ICMP port unreachable for an earlier datagram: the target is
        // not listening (yet). UDP goes on; the next datagram may find it.
        if (errno == EINTR || errno == ECONNREFUSED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return kWouldBlock;
        m_errorString = errnoText(errno);
        return kError;
    }
    return kWouldBlock;
}

qint64 DatagramSocket::write(QByteArrayView data)
{
    if (m_fd < 0)
        return kError;
    for (;;) {
        const ssize_t n = ::send(m_fd, data.data(), size_t(data.size()), 0);
        if (n >= 0)
            return n;
        switch (errno) {
        case EINTR:
            continue;
        // The datagram is lost, as it could have been on the way: the kernel is full, or the
        // target or its network is unreachable for now.
        case EAGAIN:
        case ENOBUFS:
        case ECONNREFUSED:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EMSGSIZE:
            return 0;
        default:
            m_errorString = errnoText(errno);
            return kError;
        }
    }
}

void DatagramSocket::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    if (m_notifier)
        m_notifier->setEnabled(enabled);
}

QString DatagramSocket::peerAddress() const
{
    SocketAddress address;
    address.length = sizeof address.storage;
    if (m_fd < 0 ||
        getpeername(m_fd, reinterpret_cast<sockaddr *>(&address.storage), &address.length) != 0)
        return QString();
    return address.toString();
}

void DatagramSocket::release()
{
    delete m_notifier;
    m_notifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

} // namespace wstunnel
