#include "StreamSocket.h"

#include "Logging.h"

#include <QSocketNotifier>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wstunnel {

namespace {

QString errnoText(int error)
{
    return QString::fromLocal8Bit(strerror(error)).toLower();
}

void configureDescriptor(int fd)
{
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    const int one = 1;
    // Interactive protocols (psql, redis) would otherwise wait for delayed ACKs.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

QString addressText(const sockaddr_storage &storage)
{
    QHostAddress address(reinterpret_cast<const sockaddr *>(&storage));
    quint16 port = 0;
    if (storage.ss_family == AF_INET)
        port = ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
    else if (storage.ss_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        bool isV4 = false;
        const QHostAddress v4(address.toIPv4Address(&isV4));
        if (isV4)
            return QStringLiteral("%1:%2").arg(v4.toString(), QString::number(port));
        return QStringLiteral("[%1]:%2").arg(address.toString(), QString::number(port));
    }
    return QStringLiteral("%1:%2").arg(address.toString(), QString::number(port));
}

FailureCode codeForErrno(int error)
{
    switch (error) {
    case ECONNREFUSED:
        return FailureCode::Refused;
    case ETIMEDOUT:
        return FailureCode::TimedOut;
    default:
        return FailureCode::Unreachable;
    }
}

} // namespace

StreamSocket::StreamSocket(QObject *parent)
    : ChannelEndpoint(parent)
{
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        m_lastConnectError = ETIMEDOUT;
        releaseDescriptor();
        tryNextAddress();
    });
}

StreamSocket::~StreamSocket()
{
    releaseDescriptor();
}

void StreamSocket::adopt(qintptr descriptor)
{
    configureDescriptor(int(descriptor));
    setDescriptor(int(descriptor));
}

void StreamSocket::setDescriptor(int fd)
{
    m_fd = fd;
    m_readNotifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    m_readNotifier->setEnabled(m_readEnabled && !m_connecting);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &StreamSocket::readyRead);
    m_writeNotifier = new QSocketNotifier(fd, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(m_connecting);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, [this] {
        if (m_connecting)
            finishConnect();
        else
            flushQueue();
    });
}

void StreamSocket::releaseDescriptor()
{
    delete m_readNotifier;
    m_readNotifier = nullptr;
    delete m_writeNotifier;
    m_writeNotifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void StreamSocket::connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                                      int timeoutMs)
{
    m_addresses = addresses;
    m_port = port;
    m_lastConnectError = 0;
    m_connectTimer.setInterval(timeoutMs);
    tryNextAddress();
}

void StreamSocket::tryNextAddress()
{
    while (!m_addresses.isEmpty()) {
        const QHostAddress address = m_addresses.takeFirst();
        sockaddr_storage storage{};
        socklen_t length = 0;
        if (address.protocol() == QAbstractSocket::IPv4Protocol) {
            auto *in = reinterpret_cast<sockaddr_in *>(&storage);
            in->sin_family = AF_INET;
            in->sin_port = htons(m_port);
            in->sin_addr.s_addr = htonl(address.toIPv4Address());
            length = sizeof(sockaddr_in);
        } else {
            auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(m_port);
            const Q_IPV6ADDR bytes = address.toIPv6Address();
            memcpy(&in6->sin6_addr, bytes.c, sizeof bytes.c);
            in6->sin6_scope_id = address.scopeId().toUInt();
            length = sizeof(sockaddr_in6);
        }
        const int fd = ::socket(storage.ss_family, SOCK_STREAM, 0);
        if (fd < 0) {
            m_lastConnectError = errno;
            continue;
        }
        configureDescriptor(fd);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&storage), length) == 0) {
            m_connecting = false;
            setDescriptor(fd);
            m_connectTimer.stop();
            QMetaObject::invokeMethod(this, &StreamSocket::connected, Qt::QueuedConnection);
            return;
        }
        if (errno != EINPROGRESS) {
            m_lastConnectError = errno;
            ::close(fd);
            continue;
        }
        m_connecting = true;
        setDescriptor(fd);
        m_connectTimer.start();
        return;
    }
    const int error = m_lastConnectError ? m_lastConnectError : EHOSTUNREACH;
    failConnect(codeForErrno(error),
                error == ETIMEDOUT ? QStringLiteral("connect timed out") : errnoText(error));
}

void StreamSocket::finishConnect()
{
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
        m_lastConnectError = error;
        m_connecting = false;
        releaseDescriptor();
        m_connectTimer.stop();
        tryNextAddress();
        return;
    }
    m_connecting = false;
    m_connectTimer.stop();
    m_addresses.clear();
    m_readNotifier->setEnabled(m_readEnabled);
    updateWriteNotifier();
    Q_EMIT connected();
}

void StreamSocket::failConnect(FailureCode code, const QString &reason)
{
    m_connecting = false;
    m_connectTimer.stop();
    m_errorString = reason;
    Q_EMIT connectFailed(code, reason);
}

qint64 StreamSocket::read(char *buffer, qint64 maxSize)
{
    if (m_fd < 0 || m_connecting)
        return kError;
    for (;;) {
        const ssize_t n = ::recv(m_fd, buffer, size_t(maxSize), 0);
        if (n >= 0) {
            if (n == 0 && m_readNotifier)
                m_readNotifier->setEnabled(false);
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return kWouldBlock;
        m_errorString = errnoText(errno);
        if (m_readNotifier)
            m_readNotifier->setEnabled(false);
        return kError;
    }
}

qint64 StreamSocket::write(QByteArrayView data)
{
    if (m_fd < 0)
        return kError;
    qint64 written = 0;
    if (m_queue.isEmpty()) {
        while (written < data.size()) {
            const ssize_t n =
                ::send(m_fd, data.data() + written, size_t(data.size() - written), MSG_NOSIGNAL);
            if (n > 0) {
                written += n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            m_errorString = errnoText(errno);
            return kError;
        }
    }
    if (written < data.size()) {
        m_queue.append(data.sliced(written).toByteArray());
        m_queuedBytes += data.size() - written;
        updateWriteNotifier();
    }
    return written;
}

void StreamSocket::flushQueue()
{
    qint64 flushed = 0;
    while (!m_queue.isEmpty()) {
        const QByteArray &head = m_queue.constFirst();
        const ssize_t n = ::send(m_fd, head.constData() + m_queueHeadOffset,
                                 size_t(head.size() - m_queueHeadOffset), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            m_errorString = errnoText(errno);
            m_queue.clear();
            m_queuedBytes = 0;
            m_queueHeadOffset = 0;
            updateWriteNotifier();
            Q_EMIT errorOccurred(m_errorString);
            return;
        }
        flushed += n;
        m_queuedBytes -= n;
        m_queueHeadOffset += n;
        if (m_queueHeadOffset == head.size()) {
            m_queue.removeFirst();
            m_queueHeadOffset = 0;
        }
    }
    updateWriteNotifier();
    if (m_queue.isEmpty() && m_shutdownPending) {
        m_shutdownPending = false;
        ::shutdown(m_fd, SHUT_WR);
    }
    if (flushed > 0)
        Q_EMIT bytesWritten(flushed);
}

void StreamSocket::updateWriteNotifier()
{
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(m_connecting || !m_queue.isEmpty());
}

void StreamSocket::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    if (m_readNotifier && !m_connecting)
        m_readNotifier->setEnabled(enabled);
}

void StreamSocket::shutdownWrite()
{
    if (m_fd < 0)
        return;
    if (m_queue.isEmpty())
        ::shutdown(m_fd, SHUT_WR);
    else
        m_shutdownPending = true;
}

void StreamSocket::abort()
{
    if (m_fd >= 0) {
        const linger hard{1, 0};
        setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    m_queue.clear();
    m_queuedBytes = 0;
    releaseDescriptor();
}

void StreamSocket::close()
{
    m_queue.clear();
    m_queuedBytes = 0;
    releaseDescriptor();
}

QString StreamSocket::peerAddress() const
{
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (m_fd < 0 || getpeername(m_fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return QString();
    return addressText(storage);
}

} // namespace wstunnel
