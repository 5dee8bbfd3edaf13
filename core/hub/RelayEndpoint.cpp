#include "RelayEndpoint.h"

#include <cstring>

namespace wstunnel {

// Both directions of a relay. It outlives either end, so that the end still reading finds what
// the other wrote, and its end of stream, after the writer's channel is finished and gone.
struct RelayEndpoint::Pipe
{
    struct Direction
    {
        // One buffer per direction, reused: reading drops bytes at its front without moving the
        // rest, and appending slides them back once it runs out of room. A fresh allocation per
        // message cost the hub a page fault per 4 KiB it relayed (profiled: a third of its time).
        QByteArray bytes;
        bool finished = false; // the writer will write no more
    };
    Direction directions[2];
};

RelayEndpoint::RelayEndpoint(QObject *parent)
    : ChannelEndpoint(parent)
    , m_pipe(std::make_shared<Pipe>())
    , m_side(0)
{
}

RelayEndpoint::RelayEndpoint(std::shared_ptr<Pipe> pipe, int side, const QString &peerAddress)
    : m_pipe(std::move(pipe))
    , m_side(side)
    , m_peerAddress(peerAddress)
{
}

RelayEndpoint::~RelayEndpoint() = default;

RelayEndpoint *RelayEndpoint::createMate(const QString &peerAddress)
{
    auto *mate = new RelayEndpoint(m_pipe, 1 - m_side, peerAddress);
    mate->m_mate = this;
    m_mate = mate;
    return mate;
}

void RelayEndpoint::reportConnected()
{
    m_connected = true;
    if (m_connectAsked)
        Q_EMIT connected();
}

void RelayEndpoint::reportConnectFailed(FailureCode code, const QString &reason)
{
    m_ended = true;
    Q_EMIT connectFailed(code, reason);
}

void RelayEndpoint::connectToAddresses(const QList<QHostAddress> &, quint16, int)
{
    // The relay opened the far channel when it resolved the target; this end only waits for it.
    m_connectAsked = true;
    if (m_connected)
        Q_EMIT connected();
}

qint64 RelayEndpoint::read(char *buffer, qint64 maxSize)
{
    Pipe::Direction &in = m_pipe->directions[1 - m_side];
    if (in.bytes.isEmpty())
        return in.finished ? 0 : kWouldBlock;
    const qint64 taken = qMin(maxSize, qint64(in.bytes.size()));
    std::memcpy(buffer, in.bytes.constData(), size_t(taken));
    in.bytes.remove(0, taken);
    // Only now are the bytes off the writer's hands: its channel may return credit for them.
    if (m_mate)
        Q_EMIT m_mate->bytesWritten(taken);
    // What is left, or the end of stream behind it: a channel stops reading after a short read.
    scheduleReadyRead();
    return taken;
}

qint64 RelayEndpoint::write(QByteArrayView data)
{
    if (m_ended || !m_mate) {
        m_errorString = QStringLiteral("the relayed channel is closed");
        return kError;
    }
    m_pipe->directions[m_side].bytes.append(data);
    m_mate->scheduleReadyRead();
    return 0;
}

qint64 RelayEndpoint::bytesToWrite() const
{
    return m_pipe->directions[m_side].bytes.size();
}

void RelayEndpoint::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    scheduleReadyRead();
}

void RelayEndpoint::shutdownWrite()
{
    m_pipe->directions[m_side].finished = true;
    if (m_mate)
        m_mate->scheduleReadyRead();
}

void RelayEndpoint::abort()
{
    // The channel relay resets the far channel, with the reason this end's channel ended for.
    m_ended = true;
}

void RelayEndpoint::close()
{
    m_ended = true;
}

bool RelayEndpoint::readable() const
{
    const Pipe::Direction &in = m_pipe->directions[1 - m_side];
    return !in.bytes.isEmpty() || in.finished;
}

// A socket's read notifier fires again while data is waiting; this emulates that, once per pass
// of the event loop however many writes came in between.
void RelayEndpoint::scheduleReadyRead()
{
    if (!m_readEnabled || m_readyReadScheduled || m_ended || !readable())
        return;
    m_readyReadScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_readyReadScheduled = false;
            if (m_readEnabled && !m_ended && readable())
                Q_EMIT readyRead();
        },
        Qt::QueuedConnection);
}

} // namespace wstunnel
