#include "StreamPump.h"

#include <cstring>
#include <sys/socket.h>

namespace {
constexpr qint64 kChunk = 64 * 1024;
constexpr qint64 kMaxQueued = 256 * 1024;
} // namespace

StreamPump::StreamPump(quint16 port, qint64 bytesToSend, quint32 seed, QObject *parent)
    : QObject(parent)
    , m_toSend(bytesToSend)
    , m_seed(seed)
{
    watchSocket();
    m_socket.connectToHost(QHostAddress::LocalHost, port);
}

StreamPump::StreamPump(qintptr descriptor, qint64 bytesToSend, quint32 seed, QObject *parent)
    : QObject(parent)
    , m_toSend(bytesToSend)
    , m_seed(seed)
{
    watchSocket();
    m_socket.setSocketDescriptor(descriptor);
    QMetaObject::invokeMethod(this, &StreamPump::pump, Qt::QueuedConnection);
}

void StreamPump::watchSocket()
{
    connect(&m_socket, &QTcpSocket::connected, this, &StreamPump::pump);
    connect(&m_socket, &QTcpSocket::bytesWritten, this, &StreamPump::pump);
    connect(&m_socket, &QTcpSocket::readyRead, this, [this] {
        if (!m_reading)
            return;
        const QByteArray data = m_socket.readAll();
        m_received += data.size();
        m_receivedHash.addData(data);
    });
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] { m_disconnected = true; });
}

void StreamPump::setReading(bool reading)
{
    m_reading = reading;
    // A zero-sized read buffer would mean unlimited; one byte keeps Qt from reading ahead.
    m_socket.setReadBufferSize(reading ? 0 : 1);
    if (reading)
        Q_EMIT m_socket.readyRead();
}

QByteArray StreamPump::streamChunk(qint64 offset, qint64 length, quint32 seed)
{
    // Each 8-byte word encodes its index and the seed, so a misplaced byte changes the digest.
    // Offsets are multiples of 8: the pump only ever cuts the stream at kChunk boundaries.
    Q_ASSERT(offset % 8 == 0);
    QByteArray chunk(length, Qt::Uninitialized);
    const auto wordAt = [offset, seed](qint64 i) {
        return quint64((offset + i) / 8) * 0x9E3779B97F4A7C15ull ^ (quint64(seed) << 32);
    };
    // Whole words with a fixed-size copy, which compiles to one store: a copy of variable size
    // per word is a library call, and under AddressSanitizer a checked one, which made
    // generating and hashing streams the slowest part of tests that move hundreds of MiB.
    const qint64 wholeWords = length / 8 * 8;
    for (qint64 i = 0; i < wholeWords; i += 8) {
        const quint64 word = wordAt(i);
        memcpy(chunk.data() + i, &word, sizeof word);
    }
    if (wholeWords < length) {
        const quint64 word = wordAt(wholeWords);
        memcpy(chunk.data() + wholeWords, &word, size_t(length - wholeWords));
    }
    return chunk;
}

QByteArray StreamPump::expectedDigest(qint64 length, quint32 seed)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (qint64 offset = 0; offset < length; offset += kChunk)
        hash.addData(streamChunk(offset, qMin(kChunk, length - offset), seed));
    return hash.result();
}

void StreamPump::pump()
{
    while (m_sent < m_toSend && m_socket.bytesToWrite() < kMaxQueued &&
           m_socket.state() == QAbstractSocket::ConnectedState) {
        const qint64 length = qMin(kChunk, m_toSend - m_sent);
        m_socket.write(streamChunk(m_sent, length, m_seed));
        m_sent += length;
    }
    if (m_sent == m_toSend && m_shutdownWhenSent && m_socket.bytesToWrite() == 0) {
        m_shutdownWhenSent = false;
        ::shutdown(int(m_socket.socketDescriptor()), SHUT_WR);
    }
}
