#include "WebSocketStream.h"

#include <QAbstractSocket>
#include <QRandomGenerator>
#include <QWebSocket>
#include <QtEndian>

#include <cstring>
#include <utility>

namespace wstunnel {

namespace {
// Read at once when no frame is pending.
constexpr qsizetype kReadSize = 256 * 1024;
} // namespace

WebSocketStream::WebSocketStream(QWebSocket *webSocket, QAbstractSocket *transport, bool mask,
                                 quint32 maxMessageSize, QObject *parent)
    : QObject(parent)
    , m_webSocket(webSocket)
    , m_transport(transport)
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
    m_transport->write(header, headerSize);
    m_transport->write(payload);
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
    readTransport();
}

void WebSocketStream::readTransport()
{
    QPointer<WebSocketStream> guard(this);
    while (guard && !m_stopped && m_transport && m_transport->bytesAvailable() > 0) {
        // The rest of a frame whose header has arrived and the next header, so that little is
        // left to move to the front of the buffer afterwards.
        const qsizetype wanted = m_pendingFrameSize > 0
                                     ? m_pendingFrameSize - m_used + WebSocketFrame::kMaxHeaderSize
                                     : kReadSize;
        if (m_buffer.size() - m_used < wanted)
            m_buffer.resize(m_used + wanted);
        const qint64 n = m_transport->read(m_buffer.data() + m_used, m_buffer.size() - m_used);
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
