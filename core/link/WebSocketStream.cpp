#include "WebSocketStream.h"

#include "protocol/WebSocketFrame.h"

#include <QAbstractSocket>
#include <QHostAddress>
#include <QRandomGenerator>
#include <QWebSocket>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>

namespace wstunnel {

namespace {
// Qt still reads into its own buffer when the socket becomes readable; capped at this, most bytes
// are left in the kernel for readSome() to take without that copy.
constexpr qint64 kQtReadBufferSize = 16 * 1024;
// Reads per readiness notification, so a busy session cannot monopolise the event loop.
constexpr int kReadsPerWakeup = 16;
// Over TLS, frames go into QSslSocket in pieces of this size, each encrypted and sent at once: Qt
// copies every byte three or four times between its buffers and OpenSSL's, and with whole
// 512 KiB messages those copies ran through fresh, cold memory (page faults included) instead of
// the cache (docs/PERFORMANCE.md, "TLS profile").
constexpr qsizetype kTlsChunkSize = 64 * 1024;
// QSslSocket's read buffers are capped for the same reason. Reading 128 KiB at a time still stays
// in the cache and halves the reads and Qt's rounds per byte: 11-12% less CPU per GiB received
// than with 64 KiB.
constexpr qint64 kTlsReadBufferSize = 128 * 1024;

// The socket's own descriptor when its bytes pass through Qt unchanged: not TLS, and not a proxy's
// socket engine (whose descriptor leads to the proxy and may have bytes buffered elsewhere).
int directDescriptor(QAbstractSocket *transport)
{
    if (!transport || transport->inherits("QSslSocket") ||
        transport->socketType() != QAbstractSocket::TcpSocket)
        return -1;
    const int fd = int(transport->socketDescriptor());
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return -1;
    QHostAddress peer(reinterpret_cast<const sockaddr *>(&storage));
    quint16 port = 0;
    if (storage.ss_family == AF_INET)
        port = ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
    else if (storage.ss_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
    if (port != transport->peerPort() || !peer.isEqual(transport->peerAddress()))
        return -1;
    return fd;
}
} // namespace

WebSocketStream::WebSocketStream(QWebSocket *webSocket, QAbstractSocket *transport, bool mask,
                                 quint32 maxMessageSize, QObject *parent)
    : QObject(parent)
    , m_webSocket(webSocket)
    , m_transport(transport)
    , m_descriptor(directDescriptor(transport))
    , m_tls(transport && transport->inherits("QSslSocket"))
    , m_mask(mask)
    , m_reader(maxMessageSize, mask ? FrameReader::Masking::Unmasked : FrameReader::Masking::Masked,
               this)
{
    connect(&m_reader, &FrameReader::binaryMessageReceived, this,
            &WebSocketStream::binaryMessageReceived);
    connect(&m_reader, &FrameReader::textMessageReceived, this,
            &WebSocketStream::textMessageReceived);
    connect(&m_reader, &FrameReader::pongReceived, this, &WebSocketStream::pongReceived);
    connect(&m_reader, &FrameReader::failed, this, &WebSocketStream::failed);
    connect(&m_reader, &FrameReader::pingReceived, this,
            [this](const QByteArray &payload) { writeFrame(WebSocketFrame::Pong, payload); });
    connect(&m_reader, &FrameReader::closeReceived, this,
            [this](quint16 code, const QString &reason) {
                // Answers the close with the peer's code and reason, as QWebSocket would have;
                // 1005 only says that the peer gave no code and may not be sent back, and
                // QWebSocket's CloseCode cannot hold the application codes 3000-4999.
                const bool echoable = code <= QWebSocketProtocol::CloseCodeTlsHandshakeFailed &&
                                      code != QWebSocketProtocol::CloseCodeMissingStatusCode;
                m_webSocket->close(echoable ? QWebSocketProtocol::CloseCode(code)
                                            : QWebSocketProtocol::CloseCodeNormal,
                                   reason);
            });
}

void WebSocketStream::sendBinary(QByteArray message)
{
    if (!m_transport) {
        m_webSocket->sendBinaryMessage(message);
        return;
    }
    writeFrame(WebSocketFrame::Binary, std::move(message));
}

void WebSocketStream::writeFrame(quint8 opCode, QByteArray payload)
{
    if (m_transport->state() != QAbstractSocket::ConnectedState)
        return;
    const quint32 key = m_mask ? QRandomGenerator::global()->generate() : 0;
    // Only after takeOverReading(): a flush also decrypts incoming bytes, and QWebSocket's reader,
    // run from there, could stop in the middle of a frame when the session takes over.
    if (m_tls && m_reading) {
        OutgoingFrame frame;
        frame.headerSize = WebSocketFrame::writeHeader(frame.header, opCode, true,
                                                       quint64(payload.size()), m_mask, key);
        frame.payload = std::move(payload);
        frame.maskKey = key;
        writeBuffered(std::move(frame));
        return;
    }
    char header[WebSocketFrame::kMaxHeaderSize];
    const int headerSize =
        WebSocketFrame::writeHeader(header, opCode, true, quint64(payload.size()), m_mask, key);
    // A resumable session's replay log shares payload: writing to it (masking in place, or even
    // non-const data()) would copy it into a fresh allocation on every frame, page faults and all.
    // Masking into one reused buffer is a single pass over memory that stays warm.
    const char *body = payload.constData();
    const qsizetype bodySize = payload.size();
    if (m_mask) {
        if (m_maskBuffer.size() < bodySize)
            m_maskBuffer.resize(bodySize);
        WebSocketFrame::mask(body, m_maskBuffer.data(), bodySize, key);
        body = m_maskBuffer.constData();
    }
    qsizetype written = 0;
    const qsizetype total = headerSize + bodySize;
    // Straight to the kernel only behind everything Qt still holds, so frames stay in order.
    if (directIo() && m_transport->bytesToWrite() == 0) {
        while (written < total) {
            iovec parts[2];
            int count = 0;
            if (written < headerSize)
                parts[count++] = {header + written, size_t(headerSize - written)};
            const qsizetype bodyDone = std::max<qsizetype>(0, written - headerSize);
            parts[count++] = {const_cast<char *>(body) + bodyDone, size_t(bodySize - bodyDone)};
            msghdr message{};
            message.msg_iov = parts;
            message.msg_iovlen = size_t(count);
            const ssize_t n = ::sendmsg(m_descriptor, &message, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            // Would block or failed: Qt queues the rest and reports any error itself.
            if (n <= 0)
                break;
            written += n;
        }
    }
    if (written < headerSize)
        m_transport->write(header + written, headerSize - written);
    const qsizetype bodyDone = std::max<qsizetype>(0, written - headerSize);
    // Qt keeps an unmasked payload by reference; anything else it copies.
    if (bodyDone == 0 && !m_mask)
        m_transport->write(payload);
    else if (bodyDone < bodySize)
        m_transport->write(body + bodyDone, bodySize - bodyDone);
}

void WebSocketStream::writeBuffered(OutgoingFrame frame)
{
    m_outgoing.push_back(std::move(frame));
    if (m_flushing)
        return;
    QPointer<WebSocketStream> guard(this);
    m_flushing = true;
    while (!m_outgoing.empty()) {
        if (!m_transport || m_transport->state() != QAbstractSocket::ConnectedState) {
            m_outgoing.clear();
            break;
        }
        OutgoingFrame &next = m_outgoing.front();
        const int headerSize = next.written == 0 ? next.headerSize : 0;
        const qsizetype payloadSize = std::min(kTlsChunkSize, next.payload.size() - next.written);
        // Copying into the piece also spares the payload, which the session may still share
        // (kept for resuming), a detaching copy for masking.
        QByteArray piece(headerSize + payloadSize, Qt::Uninitialized);
        std::memcpy(piece.data(), next.header, size_t(headerSize));
        const char *source = next.payload.constData() + next.written;
        if (m_mask)
            WebSocketFrame::mask(source, piece.data() + headerSize, payloadSize, next.maskKey,
                                 int(next.written & 3));
        else
            std::memcpy(piece.data() + headerSize, source, size_t(payloadSize));
        next.written += payloadSize;
        if (next.written == next.payload.size())
            m_outgoing.pop_front();
        m_transport->write(piece);
        // Emits bytesWritten and may decrypt incoming bytes (readyRead), whose handlers may send
        // or delete this stream.
        m_transport->flush();
        if (!guard)
            return;
    }
    m_flushing = false;
    if (m_readPending && !m_inRead)
        readTransport();
}

bool WebSocketStream::directIo() const
{
    // The descriptor is closed, and its number may be reused, once the transport disconnects.
    return m_descriptor >= 0 && m_transport->state() == QAbstractSocket::ConnectedState &&
           m_transport->socketDescriptor() == m_descriptor;
}

qint64 WebSocketStream::readSome(char *buffer, qint64 maxSize)
{
    if (!directIo() || m_transport->bytesAvailable() > 0)
        return m_transport->read(buffer, maxSize);
    for (;;) {
        const ssize_t n = ::recv(m_descriptor, buffer, size_t(maxSize), 0);
        if (n < 0 && errno == EINTR)
            continue;
        // Nothing now, the end or an error: Qt's notifier sees the descriptor readable again and
        // reports the end or the error itself.
        return n > 0 ? n : 0;
    }
}

void WebSocketStream::takeOverReading()
{
    if (!m_transport || m_reading)
        return;
    m_reading = true;
    // QWebSocket's reader stops here: it emitted the current message after its last frame, and
    // it reads on only while bytes are available, which readTransport() takes.
    QObject::disconnect(m_transport, &QIODevice::readyRead, nullptr, nullptr);
    connect(m_transport, &QIODevice::readyRead, this, &WebSocketStream::readTransport);
    if (directIo())
        m_transport->setReadBufferSize(kQtReadBufferSize);
    else if (m_tls)
        m_transport->setReadBufferSize(kTlsReadBufferSize);
    readTransport();
}

void WebSocketStream::readTransport()
{
    // Not while a frame is flushed through TLS: a frame handled now could make QWebSocket write
    // its close frame at once, into the middle of it (sends are queued behind it, QWebSocket's own
    // writes are not). Nor from within the reader's delivery, when a handler's send flushes TLS
    // and that decrypts more: the reader is not reentrant.
    if (m_flushing || m_inRead) {
        m_readPending = true;
        return;
    }
    m_readPending = false;
    m_inRead = true;
    QPointer<WebSocketStream> guard(this);
    for (int i = 0; i < kReadsPerWakeup && !m_reader.isStopped() && m_transport &&
                    (directIo() || m_transport->bytesAvailable() > 0);
         ++i) {
        // Draining Qt's buffer completely makes it call readData(), which re-enables its read
        // notifier; Qt turns that off while its capped buffer is full.
        const qsizetype room =
            std::max(m_reader.nextReadSize(), qsizetype(m_transport->bytesAvailable()) + 1);
        const FrameReader::ReadSpace space = m_reader.prepareRead(room);
        const qint64 n = readSome(space.data, space.size);
        if (n <= 0)
            break;
        m_reader.commit(n);
        if (!guard)
            return;
    }
    m_inRead = false;
    // Bytes that arrived during the delivery announced themselves only once.
    if (m_readPending)
        QMetaObject::invokeMethod(this, &WebSocketStream::readTransport, Qt::QueuedConnection);
}

} // namespace wstunnel
