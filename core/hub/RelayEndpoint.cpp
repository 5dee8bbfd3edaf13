#include "RelayEndpoint.h"

#include "protocol/Message.h"

#include <cstring>
#include <deque>

namespace wstunnel {

namespace {
// Room a piece is given for writes to join it; a larger write gets a piece of its own size.
constexpr qsizetype kPieceCapacity = 256 * 1024;
} // namespace

// Both directions of a relay. It outlives either end, so that the end still reading finds what
// the other wrote, and its end of stream, after the writer's channel is finished and gone.
struct RelayEndpoint::Pipe
{
    // Each write is laid out once as the reading channel's Data message (header room, then the
    // bytes), so that reading a whole one hands it over without a second copy. The hub's profile
    // had a copy in and a copy out at 28% of its time.
    struct Piece
    {
        QByteArray message;
        qsizetype begin = protocol::kDataHeaderSize; // first byte not read yet
    };
    struct Direction
    {
        std::deque<Piece> pieces;
        qint64 size = 0;       // bytes not read yet
        bool finished = false; // the writer will write no more
    };
    Direction directions[2];
    ChannelTransport transport = ChannelTransport::Tcp;
};

RelayEndpoint::RelayEndpoint(ChannelTransport transport, QObject *parent)
    : ChannelEndpoint(parent)
    , m_pipe(std::make_shared<Pipe>())
    , m_side(0)
{
    m_pipe->transport = transport;
}

RelayEndpoint::RelayEndpoint(std::shared_ptr<Pipe> pipe, int side, const QString &peerAddress)
    : m_pipe(std::move(pipe))
    , m_side(side)
    , m_peerAddress(peerAddress)
{
}

RelayEndpoint::~RelayEndpoint() = default;

ChannelTransport RelayEndpoint::transport() const
{
    return m_pipe->transport;
}

bool RelayEndpoint::carriesDatagrams() const
{
    return m_pipe->transport == ChannelTransport::Udp;
}

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
    if (carriesDatagrams())
        return readDatagram(buffer, maxSize);
    Pipe::Direction &in = m_pipe->directions[1 - m_side];
    if (in.size == 0)
        return in.finished ? 0 : kWouldBlock;
    qint64 taken = 0;
    while (taken < maxSize && !in.pieces.empty()) {
        Pipe::Piece &front = in.pieces.front();
        const qint64 part = qMin(maxSize - taken, qint64(front.message.size() - front.begin));
        std::memcpy(buffer + taken, front.message.constData() + front.begin, size_t(part));
        taken += part;
        front.begin += part;
        if (front.begin == front.message.size())
            in.pieces.pop_front();
    }
    in.size -= taken;
    tookBytes(taken);
    return taken;
}

qint64 RelayEndpoint::readWithHeadroom(QByteArray &out, qsizetype headroom, qint64 maxSize)
{
    Pipe::Direction &in = m_pipe->directions[1 - m_side];
    if (in.size == 0)
        return in.finished ? 0 : kWouldBlock;
    Pipe::Piece &front = in.pieces.front();
    const qint64 whole = front.message.size() - front.begin;
    // A part is copied, up to the end of its piece only, so that the next one can still go whole.
    if (front.begin != headroom || whole > maxSize)
        return ChannelEndpoint::readWithHeadroom(out, headroom, qMin(maxSize, whole));
    out = std::move(front.message);
    in.pieces.pop_front();
    in.size -= whole;
    tookBytes(whole);
    return whole;
}

// One whole datagram, cut to maxSize as a UDP socket's receive would. A flow has no end of
// stream: with nothing waiting, a read would block.
qint64 RelayEndpoint::readDatagram(char *buffer, qint64 maxSize)
{
    Pipe::Direction &in = m_pipe->directions[1 - m_side];
    if (in.pieces.empty())
        return kWouldBlock;
    const Pipe::Piece &front = in.pieces.front();
    const qint64 whole = front.message.size() - front.begin;
    const qint64 taken = qMin(whole, maxSize);
    std::memcpy(buffer, front.message.constData() + front.begin, size_t(taken));
    in.pieces.pop_front();
    in.size -= whole;
    tookBytes(whole);
    return taken;
}

void RelayEndpoint::tookBytes(qint64 bytes)
{
    // Only now are the bytes off the writer's hands: its channel may return credit for them. A
    // datagram writer counted its datagram as consumed when the pipe took it.
    if (m_mate && !carriesDatagrams())
        Q_EMIT m_mate->bytesWritten(bytes);
    // What is left, or the end of stream behind it: a channel stops reading after a short read.
    scheduleReadyRead();
}

qint64 RelayEndpoint::write(QByteArrayView data)
{
    if (m_ended || !m_mate) {
        m_errorString = QStringLiteral("the relayed channel is closed");
        return kError;
    }
    if (data.isEmpty())
        return 0;
    if (carriesDatagrams())
        return writeDatagram(data);
    Pipe::Direction &out = m_pipe->directions[m_side];
    out.size += data.size();
    // Small writes join the last piece while it is unread and has room: the writer's messages
    // may be small (what its socket had at the time), and the reading channel should still send
    // few large ones, as the ends do.
    if (!out.pieces.empty()) {
        QByteArray &last = out.pieces.back().message;
        if (out.pieces.back().begin == protocol::kDataHeaderSize &&
            last.size() + data.size() <= last.capacity()) {
            last.append(data);
            m_mate->scheduleReadyRead();
            return 0;
        }
    }
    QByteArray message;
    message.reserve(protocol::kDataHeaderSize + qMax(data.size(), kPieceCapacity));
    message.resize(protocol::kDataHeaderSize);
    message.append(data);
    out.pieces.push_back({std::move(message)});
    m_mate->scheduleReadyRead();
    return 0;
}

qint64 RelayEndpoint::writeMessage(QByteArray message, qsizetype payloadOffset)
{
    const qsizetype size = message.size() - payloadOffset;
    // The received message's own header is the room for the reading channel's.
    if (m_ended || !m_mate || size == 0 || payloadOffset < protocol::kDataHeaderSize ||
        carriesDatagrams())
        return write(QByteArrayView(message).sliced(payloadOffset));
    // Qt drops bytes at the front by moving its begin pointer, not the bytes.
    message.remove(0, payloadOffset - protocol::kDataHeaderSize);
    Pipe::Direction &out = m_pipe->directions[m_side];
    out.size += size;
    out.pieces.push_back({std::move(message)});
    m_mate->scheduleReadyRead();
    return 0;
}

qint64 RelayEndpoint::writeDatagram(QByteArrayView datagram)
{
    Pipe::Direction &out = m_pipe->directions[m_side];
    if (out.size + datagram.size() > kDatagramQueueBytes)
        return 0;
    QByteArray message(protocol::kDataHeaderSize + datagram.size(), Qt::Uninitialized);
    std::memcpy(message.data() + protocol::kDataHeaderSize, datagram.data(),
                size_t(datagram.size()));
    out.pieces.push_back({std::move(message)});
    out.size += datagram.size();
    // Handed on at once rather than on the next pass of the event loop: one pass delivers up to
    // megabytes of a WebSocket's messages, and the queue would overflow with room on the far
    // link. The reading channel is another session's, so this re-enters nothing.
    if (m_mate->m_readEnabled && !m_mate->m_ended && !m_mate->m_handingOver) {
        m_mate->m_handingOver = true;
        Q_EMIT m_mate->readyRead();
        if (m_mate)
            m_mate->m_handingOver = false;
    }
    if (m_mate)
        m_mate->scheduleReadyRead();
    return datagram.size();
}

qint64 RelayEndpoint::bytesToWrite() const
{
    return m_pipe->directions[m_side].size;
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
    return in.size > 0 || in.finished;
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
