#include "FrameReader.h"

#include <QPointer>
#include <QStringDecoder>
#include <QtEndian>

#include <cstring>
#include <utility>

namespace wstunnel {

namespace {

// RFC 6455 section 7.4: 1004 is reserved, 1005, 1006 and 1015 only stand for a missing code, an
// abnormal end and a failed TLS handshake and are never sent, 1016-2999 are left to future
// revisions and extensions (of which IANA has registered 1012-1014), 3000-4999 belong to libraries
// and applications, and nothing else is defined.
bool closeCodeAllowedOnTheWire(quint16 code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

// Smaller messages are copied by whoever keeps them: a new buffer for each would cost more.
constexpr qsizetype kMinTakenMessage = 64 * 1024;

} // namespace

FrameReader::FrameReader(quint32 maxMessageSize, Masking incoming, QObject *parent)
    : QObject(parent)
    , m_maxMessageSize(maxMessageSize)
    , m_incoming(incoming)
{
}

qsizetype FrameReader::nextReadSize() const
{
    return m_pendingFrameSize > 0 ? m_pendingFrameSize - m_used + WebSocketFrame::kMaxHeaderSize
                                  : kReadSize;
}

FrameReader::ReadSpace FrameReader::prepareRead(qsizetype minimum)
{
    if (m_buffer.size() - m_used < minimum)
        m_buffer.resize(m_used + minimum);
    return {m_buffer.data() + m_used, m_buffer.size() - m_used};
}

void FrameReader::feed(QByteArrayView bytes)
{
    const ReadSpace space = prepareRead(bytes.size());
    if (!bytes.isEmpty())
        std::memcpy(space.data, bytes.data(), size_t(bytes.size()));
    commit(bytes.size());
}

void FrameReader::commit(qsizetype size)
{
    Q_ASSERT(size >= 0 && m_used + size <= m_buffer.size());
    m_used += size;
    QPointer<FrameReader> guard(this);
    m_parsed = 0;
    m_pendingFrameSize = 0;
    while (!m_stopped) {
        WebSocketFrame::Header header;
        QString error;
        const auto parsed = WebSocketFrame::parseHeader(
            QByteArrayView(m_buffer.constData() + m_parsed, m_used - m_parsed), header, &error);
        if (parsed == WebSocketFrame::Parse::Incomplete)
            break;
        if (parsed == WebSocketFrame::Parse::Invalid) {
            fail(QWebSocketProtocol::CloseCodeProtocolError,
                 QStringLiteral("invalid WebSocket frame: %1").arg(error));
        } else if (acceptHeader(header)) {
            // acceptHeader() bounds the payload by the message size, so this cannot overflow.
            const qsizetype frameSize = header.headerSize + qsizetype(header.payloadSize);
            if (m_used - m_parsed < frameSize) {
                m_pendingFrameSize = frameSize;
                break;
            }
            char *payload = m_buffer.data() + m_parsed + header.headerSize;
            m_parsed += frameSize;
            deliver(header, payload);
        }
        if (!guard)
            return;
        m_deliveringBegin = m_deliveringEnd = 0;
    }
    if (m_stopped) {
        // Nothing will be delivered any more: let the memory go.
        m_buffer = QByteArray();
        m_fragments = QByteArray();
        m_used = 0;
        m_pendingFrameSize = 0;
        return;
    }
    // Only the start of an incomplete frame is moved.
    if (m_parsed > 0) {
        std::memmove(m_buffer.data(), m_buffer.constData() + m_parsed, size_t(m_used - m_parsed));
        m_used -= m_parsed;
        m_parsed = 0;
    }
}

QByteArray FrameReader::takeMessage(QByteArrayView part)
{
    const qsizetype size = m_deliveringEnd - m_deliveringBegin;
    const qsizetype behind = m_used - m_parsed;
    const char *begin = m_buffer.constData() + m_deliveringBegin;
    if (m_deliveringEnd == 0 || part.data() < begin || part.data() + part.size() > begin + size)
        return QByteArray();
    // The message keeps the whole allocation, so it must fill most of it; what follows it is
    // copied into the new buffer, so it must be little.
    if (size < kMinTakenMessage || size < m_buffer.size() / 2 || behind > size / 4)
        return QByteArray();
    QByteArray message = std::move(m_buffer);
    m_buffer = QByteArray(message.size(), Qt::Uninitialized);
    std::memcpy(m_buffer.data(), message.constData() + m_parsed, size_t(behind));
    m_used = behind;
    m_parsed = 0;
    // Qt drops bytes at the front by moving its begin pointer, not the bytes.
    message.truncate(m_deliveringEnd);
    message.remove(0, m_deliveringBegin);
    m_deliveringBegin = m_deliveringEnd = 0;
    return message;
}

bool FrameReader::acceptHeader(const WebSocketFrame::Header &header)
{
    if (header.masked != (m_incoming == Masking::Masked)) {
        fail(QWebSocketProtocol::CloseCodeProtocolError,
             header.masked ? QStringLiteral("masked frame from a server")
                           : QStringLiteral("unmasked frame from a client"));
        return false;
    }
    // parseHeader() bounds control frames to 125 bytes, and they may come between fragments.
    const bool control = (header.opCode & 0x08) != 0;
    if (control)
        return true;
    const bool continuation = header.opCode == WebSocketFrame::Continuation;
    if (continuation != m_inFragmentedMessage) {
        fail(QWebSocketProtocol::CloseCodeProtocolError,
             continuation ? QStringLiteral("continuation frame outside a message")
                          : QStringLiteral("new message inside a fragmented one"));
        return false;
    }
    // Checked on the header, so that no part of an oversized message is buffered.
    if (quint64(m_fragments.size()) + header.payloadSize > m_maxMessageSize) {
        fail(QWebSocketProtocol::CloseCodeTooMuchData,
             QStringLiteral("message exceeds the limit of %1 bytes").arg(m_maxMessageSize));
        return false;
    }
    return true;
}

void FrameReader::deliver(const WebSocketFrame::Header &header, char *payload)
{
    const qsizetype size = qsizetype(header.payloadSize);
    if (header.masked)
        WebSocketFrame::mask(payload, size, header.maskKey);
    switch (header.opCode) {
    case WebSocketFrame::Ping:
        Q_EMIT pingReceived(QByteArray(payload, size));
        return;
    case WebSocketFrame::Pong:
        Q_EMIT pongReceived();
        return;
    case WebSocketFrame::Close:
        deliverClose(QByteArrayView(payload, size));
        return;
    case WebSocketFrame::Text:
        m_stopped = true;
        Q_EMIT textMessageReceived();
        return;
    case WebSocketFrame::Binary:
        if (header.final) {
            m_deliveringBegin = payload - m_buffer.constData();
            m_deliveringEnd = m_deliveringBegin + size;
            // commit() forgets it again: a slot may have deleted the reader.
            Q_EMIT binaryMessageReceived(QByteArrayView(payload, size));
            return;
        }
        m_inFragmentedMessage = true;
        m_fragments.append(payload, size);
        return;
    case WebSocketFrame::Continuation:
        m_fragments.append(payload, size);
        if (header.final) {
            m_inFragmentedMessage = false;
            const QByteArray message = std::exchange(m_fragments, QByteArray());
            Q_EMIT binaryMessageReceived(message);
        }
        return;
    }
}

void FrameReader::deliverClose(QByteArrayView payload)
{
    m_stopped = true;
    // RFC 6455 section 5.5.1: no payload, or a 2-byte code followed by a UTF-8 reason.
    if (payload.isEmpty()) {
        Q_EMIT closeReceived(QWebSocketProtocol::CloseCodeMissingStatusCode, QString());
        return;
    }
    if (payload.size() == 1) {
        fail(QWebSocketProtocol::CloseCodeProtocolError,
             QStringLiteral("close frame with a 1-byte payload"));
        return;
    }
    const quint16 code = qFromBigEndian<quint16>(payload.data());
    if (!closeCodeAllowedOnTheWire(code)) {
        fail(QWebSocketProtocol::CloseCodeProtocolError,
             QStringLiteral("close code %1 may not be sent").arg(code));
        return;
    }
    // Stateless: a sequence cut off at the end is an error, not a state to carry on with.
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless |
                                                     QStringDecoder::Flag::ConvertInitialBom);
    const QString reason = decoder(payload.sliced(2));
    if (decoder.hasError()) {
        // RFC 6455 section 8.1 and 7.4.1: 1007 for data that is not what it should be.
        fail(QWebSocketProtocol::CloseCodeWrongDatatype,
             QStringLiteral("close reason is not valid UTF-8"));
        return;
    }
    Q_EMIT closeReceived(code, reason);
}

void FrameReader::fail(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    m_stopped = true;
    Q_EMIT failed(code, reason);
}

} // namespace wstunnel
