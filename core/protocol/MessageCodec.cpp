#include "MessageCodec.h"

#include <QStringDecoder>
#include <QtEndian>

#include <limits>

namespace wstunnel {

namespace {

class Writer
{
public:
    explicit Writer(MessageType type, qsizetype reserve = 32)
    {
        m_bytes.reserve(reserve);
        u8(static_cast<quint8>(type));
    }

    Writer &u8(quint8 v)
    {
        m_bytes.append(static_cast<char>(v));
        return *this;
    }
    Writer &u16(quint16 v) { return raw(qToBigEndian(v)); }
    Writer &u32(quint32 v) { return raw(qToBigEndian(v)); }
    Writer &u64(quint64 v) { return raw(qToBigEndian(v)); }
    // Strings are UTF-8 with a 16-bit length, cut at a character boundary to fit maxLength.
    Writer &bytes(QByteArrayView v)
    {
        m_bytes.append(v.data(), v.size());
        return *this;
    }
    Writer &str(const QString &s, int maxLength)
    {
        QByteArray utf8 = s.toUtf8();
        if (utf8.size() > maxLength) {
            qsizetype cut = maxLength;
            while (cut > 0 && (static_cast<quint8>(utf8.at(cut)) & 0xC0) == 0x80)
                --cut;
            utf8.truncate(cut);
        }
        u16(static_cast<quint16>(utf8.size()));
        m_bytes.append(utf8);
        return *this;
    }
    QByteArray take() { return std::move(m_bytes); }
    qsizetype size() const { return m_bytes.size(); }
    void truncate(qsizetype size) { m_bytes.truncate(size); }

private:
    template <typename T> Writer &raw(T v)
    {
        m_bytes.append(reinterpret_cast<const char *>(&v), sizeof v);
        return *this;
    }
    QByteArray m_bytes;
};

class Reader
{
public:
    explicit Reader(QByteArrayView bytes)
        : m_bytes(bytes)
    {
    }

    bool u8(quint8 &v) { return raw(v); }
    bool u16(quint16 &v) { return raw(v) && (v = qFromBigEndian(v), true); }
    bool u32(quint32 &v) { return raw(v) && (v = qFromBigEndian(v), true); }
    bool u64(quint64 &v) { return raw(v) && (v = qFromBigEndian(v), true); }
    // Fails on a truncated string, one over maxLength, or invalid UTF-8.
    bool str(QString &s, int maxLength, QString &error, const char *what)
    {
        quint16 length = 0;
        if (!u16(length))
            return false;
        if (length > maxLength) {
            error = QStringLiteral("%1 of %2 bytes exceeds the limit of %3")
                        .arg(QLatin1String(what))
                        .arg(length)
                        .arg(maxLength);
            return false;
        }
        if (remaining() < length)
            return false;
        const QByteArrayView utf8 = m_bytes.sliced(m_pos, length);
        m_pos += length;
        // Stateless, so that a sequence cut off at the end is an error instead of being dropped;
        // a leading BOM is kept, so that the string encodes back to the bytes it came from.
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless |
                                                         QStringDecoder::Flag::ConvertInitialBom);
        s = decoder.decode(utf8);
        if (decoder.hasError()) {
            error = QStringLiteral("%1 is not valid UTF-8").arg(QLatin1String(what));
            return false;
        }
        return true;
    }
    bool bytes(QByteArrayView &v, qsizetype size)
    {
        if (remaining() < size)
            return false;
        v = m_bytes.sliced(m_pos, size);
        m_pos += size;
        return true;
    }
    QByteArrayView rest()
    {
        const QByteArrayView r = m_bytes.sliced(m_pos);
        m_pos = m_bytes.size();
        return r;
    }
    qsizetype remaining() const { return m_bytes.size() - m_pos; }

private:
    template <typename T> bool raw(T &v)
    {
        if (remaining() < qsizetype(sizeof v))
            return false;
        memcpy(&v, m_bytes.data() + m_pos, sizeof v);
        m_pos += sizeof v;
        return true;
    }
    QByteArrayView m_bytes;
    qsizetype m_pos = 0;
};

QString typeName(MessageType type)
{
    switch (type) {
    case MessageType::Hello:
        return QStringLiteral("hello");
    case MessageType::Open:
        return QStringLiteral("open");
    case MessageType::OpenOk:
        return QStringLiteral("open-ok");
    case MessageType::OpenFailed:
        return QStringLiteral("open-failed");
    case MessageType::Data:
        return QStringLiteral("data");
    case MessageType::Credit:
        return QStringLiteral("credit");
    case MessageType::Fin:
        return QStringLiteral("fin");
    case MessageType::Reset:
        return QStringLiteral("reset");
    case MessageType::GoAway:
        return QStringLiteral("go-away");
    case MessageType::Listen:
        return QStringLiteral("listen");
    case MessageType::ListenOk:
        return QStringLiteral("listen-ok");
    case MessageType::ListenFailed:
        return QStringLiteral("listen-failed");
    case MessageType::Unlisten:
        return QStringLiteral("unlisten");
    case MessageType::Capabilities:
        return QStringLiteral("capabilities");
    case MessageType::AgentStatus:
        return QStringLiteral("agent-status");
    case MessageType::SessionTicket:
        return QStringLiteral("session-ticket");
    case MessageType::Resume:
        return QStringLiteral("resume");
    case MessageType::Resumed:
        return QStringLiteral("resumed");
    case MessageType::ResumeFailed:
        return QStringLiteral("resume-failed");
    case MessageType::Ack:
        return QStringLiteral("ack");
    case MessageType::AgentList:
        return QStringLiteral("agent-list");
    }
    return QStringLiteral("unknown");
}

bool validCode(quint8 code)
{
    return code >= static_cast<quint8>(FailureCode::Refused) &&
           code <= static_cast<quint8>(FailureCode::AddressInUse);
}

} // namespace

QString failureCodeName(FailureCode code)
{
    switch (code) {
    case FailureCode::Refused:
        return QStringLiteral("connection refused");
    case FailureCode::Unreachable:
        return QStringLiteral("host unreachable");
    case FailureCode::NotAllowed:
        return QStringLiteral("not allowed");
    case FailureCode::TimedOut:
        return QStringLiteral("timed out");
    case FailureCode::LimitReached:
        return QStringLiteral("limit reached");
    case FailureCode::ProtocolError:
        return QStringLiteral("protocol error");
    case FailureCode::IoError:
        return QStringLiteral("I/O error");
    case FailureCode::Shutdown:
        return QStringLiteral("shutting down");
    case FailureCode::AddressInUse:
        return QStringLiteral("address in use");
    }
    return QStringLiteral("unknown failure");
}

MessageCodec::DecodeResult MessageCodec::decode(QByteArrayView bytes, quint32 maxMessageSize)
{
    DecodeResult result;
    if (bytes.isEmpty()) {
        result.error = QStringLiteral("empty message");
        return result;
    }
    if (quint64(bytes.size()) > maxMessageSize) {
        result.error = QStringLiteral("message of %1 bytes exceeds the limit of %2")
                           .arg(bytes.size())
                           .arg(maxMessageSize);
        return result;
    }
    Reader in(bytes);
    quint8 rawType = 0;
    in.u8(rawType);
    if (rawType < static_cast<quint8>(MessageType::Hello) ||
        rawType > static_cast<quint8>(MessageType::AgentList)) {
        result.error =
            QStringLiteral("unknown message type 0x%1").arg(rawType, 2, 16, QLatin1Char('0'));
        return result;
    }
    Message m;
    m.type = static_cast<MessageType>(rawType);
    QString error;
    quint8 code = 0;
    bool ok = false;
    switch (m.type) {
    case MessageType::Hello:
        ok = in.u16(m.minVersion) && in.u16(m.maxVersion) && in.u32(m.maxMessageSize) &&
             in.str(m.text, protocol::kMaxNameLength, error, "peer name");
        if (ok && m.minVersion > m.maxVersion)
            error =
                QStringLiteral("version range %1..%2 is empty").arg(m.minVersion).arg(m.maxVersion);
        if (ok && m.maxMessageSize < protocol::kMinMessageSize)
            error = QStringLiteral("maximum message size %1 is below %2")
                        .arg(m.maxMessageSize)
                        .arg(protocol::kMinMessageSize);
        break;
    case MessageType::Open: {
        quint8 transport = 0;
        ok = in.u32(m.channel) && in.u8(transport) && in.u32(m.window) &&
             in.str(m.host, protocol::kMaxHostLength, error, "host") && in.u16(m.port);
        if (ok && transport != static_cast<quint8>(ChannelTransport::Tcp) &&
            transport != static_cast<quint8>(ChannelTransport::Udp))
            error = QStringLiteral("unknown transport %1").arg(transport);
        m.transport = static_cast<ChannelTransport>(transport);
        if (ok && error.isEmpty() && m.host.isEmpty())
            error = QStringLiteral("open without a host");
        break;
    }
    case MessageType::OpenOk:
        ok = in.u32(m.channel) && in.u32(m.window);
        break;
    case MessageType::OpenFailed:
    case MessageType::Reset:
        ok = in.u32(m.channel) && in.u8(code) &&
             in.str(m.text, protocol::kMaxReasonLength, error, "reason");
        break;
    case MessageType::GoAway:
        ok = in.u8(code) && in.str(m.text, protocol::kMaxReasonLength, error, "reason");
        break;
    case MessageType::Data:
        ok = in.u32(m.channel) && in.u64(m.offset);
        m.payload = in.rest();
        break;
    case MessageType::Credit:
        ok = in.u32(m.channel) && in.u64(m.offset) && in.u32(m.window);
        break;
    case MessageType::Fin:
        ok = in.u32(m.channel) && in.u64(m.offset);
        break;
    case MessageType::Listen:
        ok = in.u32(m.channel) && in.str(m.host, protocol::kMaxHostLength, error, "bind host") &&
             in.u16(m.port);
        if (ok && in.remaining() > 0) {
            quint8 transport = 0;
            in.u8(transport);
            if (transport != static_cast<quint8>(ChannelTransport::Tcp) &&
                transport != static_cast<quint8>(ChannelTransport::Udp))
                error = QStringLiteral("unknown transport %1").arg(transport);
            m.transport = static_cast<ChannelTransport>(transport);
        }
        break;
    case MessageType::ListenOk:
        ok = in.u32(m.channel) && in.u16(m.port);
        break;
    case MessageType::ListenFailed:
        ok = in.u32(m.channel) && in.u8(code) &&
             in.str(m.text, protocol::kMaxReasonLength, error, "reason");
        break;
    case MessageType::Unlisten:
        ok = in.u32(m.channel);
        break;
    case MessageType::Capabilities:
        // Bits this end does not know are kept: they mean nothing to it and do no harm.
        ok = in.u32(m.capabilities);
        break;
    case MessageType::AgentStatus: {
        quint8 state = 0;
        ok = in.u8(state) && in.str(m.host, protocol::kMaxNameLength, error, "agent name") &&
             in.str(m.text, protocol::kMaxHostLength, error, "agent address");
        if (ok && state > static_cast<quint8>(AgentState::Standby))
            error = QStringLiteral("unknown agent state %1").arg(state);
        m.agentState = static_cast<AgentState>(state);
        if (ok && error.isEmpty() && m.host.isEmpty())
            error = QStringLiteral("agent status without a name");
        break;
    }
    case MessageType::SessionTicket:
        ok = in.bytes(m.sessionId, protocol::kSessionIdSize) &&
             in.bytes(m.secret, protocol::kSessionSecretSize);
        break;
    case MessageType::Resume:
        ok = in.bytes(m.sessionId, protocol::kSessionIdSize) &&
             in.bytes(m.secret, protocol::kSessionSecretSize) && in.u64(m.offset);
        break;
    case MessageType::Resumed:
    case MessageType::Ack:
        ok = in.u64(m.offset);
        break;
    case MessageType::ResumeFailed:
        ok = in.u8(code) && in.str(m.text, protocol::kMaxReasonLength, error, "reason");
        break;
    case MessageType::AgentList: {
        quint16 count = 0;
        ok = in.u16(count);
        for (quint16 i = 0; ok && error.isEmpty() && i < count; ++i) {
            AgentListing agent;
            quint8 state = 0;
            ok = in.str(agent.name, protocol::kMaxNameLength, error, "agent name") &&
                 in.u8(state) &&
                 in.str(agent.address, protocol::kMaxHostLength, error, "agent address") &&
                 in.u32(agent.connectedSeconds);
            if (ok && state != static_cast<quint8>(AgentState::Active) &&
                state != static_cast<quint8>(AgentState::Standby))
                error =
                    QStringLiteral("agent-list state %1 is neither active nor standby").arg(state);
            if (ok && error.isEmpty() && agent.name.isEmpty())
                error = QStringLiteral("agent-list entry without a name");
            agent.state = static_cast<AgentState>(state);
            m.agents.append(agent);
        }
        break;
    }
    }
    if (m.type == MessageType::OpenFailed || m.type == MessageType::Reset ||
        m.type == MessageType::GoAway || m.type == MessageType::ListenFailed ||
        m.type == MessageType::ResumeFailed) {
        if (ok && error.isEmpty() && !validCode(code))
            error = QStringLiteral("unknown failure code %1").arg(code);
        m.code = static_cast<FailureCode>(code);
    }
    if (error.isEmpty() && !ok)
        error = QStringLiteral("truncated %1 message").arg(typeName(m.type));
    if (error.isEmpty() && in.remaining() > 0)
        error = QStringLiteral("%1 trailing bytes after %2 message")
                    .arg(in.remaining())
                    .arg(typeName(m.type));
    if (!error.isEmpty()) {
        result.error = error;
        return result;
    }
    result.message = std::move(m);
    return result;
}

QByteArray MessageCodec::hello(quint16 minVersion, quint16 maxVersion, quint32 maxMessageSize,
                               const QString &name)
{
    return Writer(MessageType::Hello)
        .u16(minVersion)
        .u16(maxVersion)
        .u32(maxMessageSize)
        .str(name, protocol::kMaxNameLength)
        .take();
}

QByteArray MessageCodec::open(quint32 channel, ChannelTransport transport, quint32 window,
                              const QString &host, quint16 port)
{
    return Writer(MessageType::Open)
        .u32(channel)
        .u8(static_cast<quint8>(transport))
        .u32(window)
        .str(host, protocol::kMaxHostLength)
        .u16(port)
        .take();
}

QByteArray MessageCodec::openOk(quint32 channel, quint32 window)
{
    return Writer(MessageType::OpenOk).u32(channel).u32(window).take();
}

QByteArray MessageCodec::openFailed(quint32 channel, FailureCode code, const QString &reason)
{
    return Writer(MessageType::OpenFailed)
        .u32(channel)
        .u8(static_cast<quint8>(code))
        .str(reason, protocol::kMaxReasonLength)
        .take();
}

QByteArray MessageCodec::data(quint32 channel, quint64 offset, QByteArrayView payload)
{
    QByteArray bytes(protocol::kDataHeaderSize + payload.size(), Qt::Uninitialized);
    writeDataHeader(bytes.data(), channel, offset);
    if (!payload.isEmpty())
        memcpy(bytes.data() + protocol::kDataHeaderSize, payload.data(), payload.size());
    return bytes;
}

void MessageCodec::writeDataHeader(char *buffer, quint32 channel, quint64 offset)
{
    buffer[0] = static_cast<char>(MessageType::Data);
    qToBigEndian(channel, buffer + 1);
    qToBigEndian(offset, buffer + 5);
}

QByteArray MessageCodec::credit(quint32 channel, quint64 consumed, quint32 window)
{
    return Writer(MessageType::Credit).u32(channel).u64(consumed).u32(window).take();
}

QByteArray MessageCodec::fin(quint32 channel, quint64 finalOffset)
{
    return Writer(MessageType::Fin).u32(channel).u64(finalOffset).take();
}

QByteArray MessageCodec::reset(quint32 channel, FailureCode code, const QString &reason)
{
    return Writer(MessageType::Reset)
        .u32(channel)
        .u8(static_cast<quint8>(code))
        .str(reason, protocol::kMaxReasonLength)
        .take();
}

QByteArray MessageCodec::goAway(FailureCode code, const QString &reason)
{
    return Writer(MessageType::GoAway)
        .u8(static_cast<quint8>(code))
        .str(reason, protocol::kMaxReasonLength)
        .take();
}

QByteArray MessageCodec::listen(quint32 requestId, const QString &bindHost, quint16 port,
                                ChannelTransport transport)
{
    Writer writer(MessageType::Listen);
    writer.u32(requestId).str(bindHost, protocol::kMaxHostLength).u16(port);
    if (transport != ChannelTransport::Tcp)
        writer.u8(static_cast<quint8>(transport));
    return writer.take();
}

QByteArray MessageCodec::listenOk(quint32 requestId, quint16 boundPort)
{
    return Writer(MessageType::ListenOk).u32(requestId).u16(boundPort).take();
}

QByteArray MessageCodec::listenFailed(quint32 requestId, FailureCode code, const QString &reason)
{
    return Writer(MessageType::ListenFailed)
        .u32(requestId)
        .u8(static_cast<quint8>(code))
        .str(reason, protocol::kMaxReasonLength)
        .take();
}

QByteArray MessageCodec::unlisten(quint32 requestId)
{
    return Writer(MessageType::Unlisten).u32(requestId).take();
}

QByteArray MessageCodec::capabilities(quint32 flags)
{
    return Writer(MessageType::Capabilities).u32(flags).take();
}

QByteArray MessageCodec::agentStatus(AgentState state, const QString &name, const QString &address)
{
    return Writer(MessageType::AgentStatus)
        .u8(static_cast<quint8>(state))
        .str(name, protocol::kMaxNameLength)
        .str(address, protocol::kMaxHostLength)
        .take();
}

QByteArray MessageCodec::sessionTicket(QByteArrayView sessionId, QByteArrayView secret)
{
    Q_ASSERT(sessionId.size() == protocol::kSessionIdSize);
    Q_ASSERT(secret.size() == protocol::kSessionSecretSize);
    return Writer(MessageType::SessionTicket, 1 + sessionId.size() + secret.size())
        .bytes(sessionId)
        .bytes(secret)
        .take();
}

QByteArray MessageCodec::resume(QByteArrayView sessionId, QByteArrayView secret, quint64 received)
{
    Q_ASSERT(sessionId.size() == protocol::kSessionIdSize);
    Q_ASSERT(secret.size() == protocol::kSessionSecretSize);
    return Writer(MessageType::Resume, 1 + sessionId.size() + secret.size() + 8)
        .bytes(sessionId)
        .bytes(secret)
        .u64(received)
        .take();
}

QByteArray MessageCodec::resumed(quint64 received)
{
    return Writer(MessageType::Resumed).u64(received).take();
}

QByteArray MessageCodec::resumeFailed(FailureCode code, const QString &reason)
{
    return Writer(MessageType::ResumeFailed)
        .u8(static_cast<quint8>(code))
        .str(reason, protocol::kMaxReasonLength)
        .take();
}

QByteArray MessageCodec::ack(quint64 received)
{
    return Writer(MessageType::Ack).u64(received).take();
}

bool MessageCodec::isReplayable(MessageType type)
{
    switch (type) {
    case MessageType::Hello:
    case MessageType::Capabilities:
    case MessageType::GoAway:
    case MessageType::SessionTicket:
    case MessageType::Resume:
    case MessageType::Resumed:
    case MessageType::ResumeFailed:
    case MessageType::Ack:
        return false;
    default:
        return true;
    }
}

QByteArray MessageCodec::agentList(const QList<AgentListing> &agents, quint32 maxMessageSize)
{
    Writer writer(MessageType::AgentList, 64 * (agents.size() + 1));
    writer.u16(0);
    quint16 count = 0;
    for (const AgentListing &agent : agents) {
        if (count == std::numeric_limits<quint16>::max())
            break;
        const qsizetype before = writer.size();
        writer.str(agent.name, protocol::kMaxNameLength)
            .u8(static_cast<quint8>(agent.state))
            .str(agent.address, protocol::kMaxHostLength)
            .u32(agent.connectedSeconds);
        if (quint64(writer.size()) > maxMessageSize) {
            writer.truncate(before);
            break;
        }
        ++count;
    }
    QByteArray bytes = writer.take();
    qToBigEndian(count, bytes.data() + 1);
    return bytes;
}

} // namespace wstunnel
