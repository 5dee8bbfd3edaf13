#include "PipeStream.h"

#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace wstunnel {

namespace {

QString errnoText(int error)
{
    return QString::fromLocal8Bit(strerror(error)).toLower();
}

int makeNonBlocking(int fd)
{
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return flags;
}

// Points fd at /dev/null: the other end sees the end, and the number stays in use.
void detach(int fd)
{
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {
        ::close(fd);
        return;
    }
    dup2(null, fd);
    ::close(null);
}

} // namespace

PipeStream::PipeStream(int readFd, int writeFd, QObject *parent)
    : ChannelEndpoint(parent)
    , m_readFd(readFd)
    , m_writeFd(writeFd)
    , m_readFlags(makeNonBlocking(readFd))
    , m_writeFlags(makeNonBlocking(writeFd))
{
    m_readNotifier = new QSocketNotifier(m_readFd, QSocketNotifier::Read, this);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &ChannelEndpoint::readyRead);
    m_writeNotifier = new QSocketNotifier(m_writeFd, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &PipeStream::flushQueue);
}

PipeStream::~PipeStream()
{
    // The descriptors outlive us (they are the process's standard input and output), and a
    // terminal or a shell shares their flags.
    if (!m_readEnded && m_readFlags >= 0)
        fcntl(m_readFd, F_SETFL, m_readFlags);
    if (!m_writeEnded && m_writeFlags >= 0)
        fcntl(m_writeFd, F_SETFL, m_writeFlags);
}

void PipeStream::connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                                    int timeoutMs)
{
    Q_UNUSED(addresses)
    Q_UNUSED(port)
    Q_UNUSED(timeoutMs)
    // Standard input and output only ever open a channel; the far side never connects to them.
    Q_EMIT connectFailed(FailureCode::ProtocolError,
                         QStringLiteral("standard input and output cannot be a channel's target"));
}

qint64 PipeStream::read(char *buffer, qint64 maxSize)
{
    if (m_readEnded)
        return 0;
    for (;;) {
        const ssize_t n = ::read(m_readFd, buffer, size_t(maxSize));
        if (n > 0)
            return n;
        if (n == 0) {
            endRead();
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return kWouldBlock;
        m_errorString = errnoText(errno);
        endRead();
        return kError;
    }
}

qint64 PipeStream::write(QByteArrayView data)
{
    if (m_writeEnded)
        return kError;
    qint64 written = 0;
    if (m_queue.isEmpty()) {
        while (written < data.size()) {
            const ssize_t n =
                ::write(m_writeFd, data.data() + written, size_t(data.size() - written));
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
        m_writeNotifier->setEnabled(true);
    }
    return written;
}

void PipeStream::flushQueue()
{
    qint64 flushed = 0;
    while (!m_queue.isEmpty()) {
        const QByteArray &head = m_queue.constFirst();
        const ssize_t n = ::write(m_writeFd, head.constData() + m_queueHeadOffset,
                                  size_t(head.size() - m_queueHeadOffset));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            m_errorString = errnoText(errno);
            m_queue.clear();
            m_queuedBytes = 0;
            m_queueHeadOffset = 0;
            m_writeNotifier->setEnabled(false);
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
    m_writeNotifier->setEnabled(!m_queue.isEmpty());
    if (m_queue.isEmpty() && m_shutdownPending)
        endWrite();
    if (flushed > 0)
        Q_EMIT bytesWritten(flushed);
}

void PipeStream::setReadEnabled(bool enabled)
{
    m_readNotifier->setEnabled(enabled && !m_readEnded);
}

void PipeStream::shutdownWrite()
{
    if (m_queue.isEmpty())
        endWrite();
    else
        m_shutdownPending = true;
}

void PipeStream::abort()
{
    close();
}

void PipeStream::close()
{
    m_queue.clear();
    m_queuedBytes = 0;
    endRead();
    endWrite();
}

void PipeStream::endRead()
{
    if (m_readEnded)
        return;
    m_readEnded = true;
    m_readNotifier->setEnabled(false);
    detach(m_readFd);
}

void PipeStream::endWrite()
{
    if (m_writeEnded)
        return;
    m_writeEnded = true;
    m_shutdownPending = false;
    m_writeNotifier->setEnabled(false);
    detach(m_writeFd);
}

} // namespace wstunnel
