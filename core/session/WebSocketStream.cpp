#include "WebSocketStream.h"

#include <QAbstractSocket>
#include <QHostAddress>
#include <QRandomGenerator>
#include <QWebSocket>
#include <QtEndian>

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
// Read at once when no frame is pending.
constexpr qsizetype kReadSize = 256 * 1024;
// Qt still reads into its own buffer when the socket becomes readable; capped at this, most bytes
// are left in the kernel for readSome() to take without that copy.
constexpr qint64 kQtReadBufferSize = 16 * 1024;
// Reads per readiness notification, so a busy session cannot monopolise the event loop.
constexpr int kReadsPerWakeup = 16;

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
    , m_mask(mask)
    , m_maxMessageSize(maxMessageSize)
{
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
    char header[WebSocketFrame::kMaxHeaderSize];
    const int headerSize =
        WebSocketFrame::writeHeader(header, opCode, true, quint64(payload.size()), m_mask, key);
    if (m_mask)
        WebSocketFrame::mask(payload.data(), payload.size(), key);
    qsizetype written = 0;
    const qsizetype total = headerSize + payload.size();
    // Straight to the kernel only behind everything Qt still holds, so frames stay in order.
    if (directIo() && m_transport->bytesToWrite() == 0) {
        while (written < total) {
            iovec parts[2];
            int count = 0;
            if (written < headerSize)
                parts[count++] = {header + written, size_t(headerSize - written)};
            const qsizetype payloadDone = std::max<qsizetype>(0, written - headerSize);
            parts[count++] = {payload.data() + payloadDone, size_t(payload.size() - payloadDone)};
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
    const qsizetype payloadDone = std::max<qsizetype>(0, written - headerSize);
    if (payloadDone == 0)
        m_transport->write(payload);
    else if (payloadDone < payload.size())
        m_transport->write(payload.constData() + payloadDone, payload.size() - payloadDone);
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
    readTransport();
}

void WebSocketStream::readTransport()
{
    QPointer<WebSocketStream> guard(this);
    for (int i = 0; i < kReadsPerWakeup && guard && !m_stopped && m_transport &&
                    (directIo() || m_transport->bytesAvailable() > 0);
         ++i) {
        // The rest of a frame whose header has arrived and the next header, so that little is
        // left to move to the front of the buffer afterwards.
        const qsizetype wanted = m_pendingFrameSize > 0
                                     ? m_pendingFrameSize - m_used + WebSocketFrame::kMaxHeaderSize
                                     : kReadSize;
        // Draining Qt's buffer completely makes it call readData(), which re-enables its read
        // notifier; Qt turns that off while its capped buffer is full.
        const qsizetype room = std::max(wanted, qsizetype(m_transport->bytesAvailable()) + 1);
        if (m_buffer.size() - m_used < room)
            m_buffer.resize(m_used + room);
        const qint64 n = readSome(m_buffer.data() + m_used, m_buffer.size() - m_used);
        if (n <= 0)
            return;
        m_used += n;
        processFrames();
    }
}

void WebSocketStream::processFrames()
{
    QPointer<WebSocketStream> guard(this);
    qsizetype start = 0;
    m_pendingFrameSize = 0;
    while (!m_stopped) {
        WebSocketFrame::Header header;
        QString error;
        const auto parsed = WebSocketFrame::parseHeader(
            QByteArrayView(m_buffer.constData() + start, m_used - start), header, &error);
        if (parsed == WebSocketFrame::Parse::Invalid) {
            m_stopped = true;
            Q_EMIT failed(QWebSocketProtocol::CloseCodeProtocolError,
                          QStringLiteral("invalid WebSocket frame: %1").arg(error));
            return;
        }
        if (parsed == WebSocketFrame::Parse::Incomplete)
            break;
        if (header.payloadSize > m_maxMessageSize) {
            m_stopped = true;
            Q_EMIT failed(
                QWebSocketProtocol::CloseCodeTooMuchData,
                QStringLiteral("message exceeds the limit of %1 bytes").arg(m_maxMessageSize));
            return;
        }
        const qsizetype frameSize = header.headerSize + qsizetype(header.payloadSize);
        if (m_used - start < frameSize) {
            m_pendingFrameSize = frameSize;
            break;
        }
        char *payload = m_buffer.data() + start + header.headerSize;
        start += frameSize;
        if (!handleFrame(header, payload) || !guard)
            return;
    }
    if (m_stopped)
        return;
    // Only the start of an incomplete frame is moved.
    if (start > 0) {
        std::memmove(m_buffer.data(), m_buffer.constData() + start, size_t(m_used - start));
        m_used -= start;
    }
}

bool WebSocketStream::handleFrame(const WebSocketFrame::Header &header, char *payload)
{
    const qsizetype size = qsizetype(header.payloadSize);
    if (header.masked)
        WebSocketFrame::mask(payload, size, header.maskKey);
    switch (header.opCode) {
    case WebSocketFrame::Ping:
        writeFrame(WebSocketFrame::Pong, QByteArray(payload, size));
        return true;
    case WebSocketFrame::Pong:
        Q_EMIT pongReceived();
        return true;
    case WebSocketFrame::Close: {
        m_stopped = true;
        QWebSocketProtocol::CloseCode code = QWebSocketProtocol::CloseCodeNormal;
        QString reason;
        if (size >= 2) {
            code = QWebSocketProtocol::CloseCode(qFromBigEndian<quint16>(payload));
            reason = QString::fromUtf8(payload + 2, size - 2);
        }
        // Answers the close and records the peer's code and reason, as QWebSocket would have.
        m_webSocket->close(code, reason);
        return false;
    }
    case WebSocketFrame::Text:
        m_stopped = true;
        Q_EMIT textMessageReceived();
        return false;
    case WebSocketFrame::Binary:
    case WebSocketFrame::Continuation:
        break;
    }
    const bool continuation = header.opCode == WebSocketFrame::Continuation;
    if (continuation != m_inFragmentedMessage) {
        m_stopped = true;
        Q_EMIT failed(QWebSocketProtocol::CloseCodeProtocolError,
                      continuation ? QStringLiteral("continuation frame outside a message")
                                   : QStringLiteral("new message inside a fragmented one"));
        return false;
    }
    if (!m_inFragmentedMessage && header.final) {
        Q_EMIT binaryMessageReceived(QByteArrayView(payload, size));
        return true;
    }
    if (quint64(m_fragments.size()) + header.payloadSize > m_maxMessageSize) {
        m_stopped = true;
        Q_EMIT failed(
            QWebSocketProtocol::CloseCodeTooMuchData,
            QStringLiteral("message exceeds the limit of %1 bytes").arg(m_maxMessageSize));
        return false;
    }
    m_fragments.append(payload, size);
    m_inFragmentedMessage = !header.final;
    if (header.final) {
        const QByteArray message = std::exchange(m_fragments, QByteArray());
        Q_EMIT binaryMessageReceived(message);
    }
    return true;
}

} // namespace wstunnel
