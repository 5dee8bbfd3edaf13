#include "TunnelSession.h"

#include "Logging.h"
#include "TargetPolicy.h"
#include "WebSocketStream.h"
#include "config/ForwardSpec.h"
#include "net/StreamSocket.h"
#include "protocol/MessageCodec.h"

#include <QWebSocket>

namespace wstunnel {

namespace {

QString describe(const ChannelSummary &s)
{
    return QStringLiteral("channel %1 %2 -> %3 closed%4: in %5 B, out %6 B, %7 s")
        .arg(s.id)
        .arg(s.peer, s.target, s.error.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(s.error))
        .arg(s.bytesIn)
        .arg(s.bytesOut)
        .arg(double(s.durationMs) / 1000.0, 0, 'f', 3);
}

} // namespace

TunnelSession::TunnelSession(QWebSocket *socket, Role role, const SessionLimits &limits,
                             QObject *parent, QAbstractSocket *transport)
    : QObject(parent)
    , m_socket(socket)
    , m_role(role)
    , m_limits(limits)
    , m_nextChannelId(role == Role::Dialer ? 1 : 2)
{
    m_age.start();
    m_socket->setParent(this);
    // Opens, credits and interactive traffic are small messages: Nagle's algorithm would hold each
    // back until the previous one is acknowledged. A dialing QWebSocket owns its TCP socket.
    if (!transport)
        transport = m_socket->findChild<QAbstractSocket *>();
    if (transport)
        transport->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_stream = new WebSocketStream(m_socket, transport, role == Role::Dialer,
                                   m_limits.maxMessageSize, this);
    m_socket->setMaxAllowedIncomingMessageSize(m_limits.maxMessageSize);
    m_socket->setMaxAllowedIncomingFrameSize(m_limits.maxMessageSize);
    m_peerAddress = m_socket->peerAddress().toString();
    if (m_socket->peerPort() != 0)
        m_peerAddress = formatEndpoint(m_peerAddress, m_socket->peerPort());

    connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &bytes) {
        handleMessage(bytes);
        // The peer's hello is the first message; from then on our reader takes the frames.
        if (m_ready && !m_ended)
            m_stream->takeOverReading();
    });
    connect(m_stream, &WebSocketStream::binaryMessageReceived, this, &TunnelSession::handleMessage);
    auto unexpectedText = [this] {
        fail(FailureCode::ProtocolError, QStringLiteral("unexpected text message"));
    };
    connect(m_socket, &QWebSocket::textMessageReceived, this, unexpectedText);
    connect(m_stream, &WebSocketStream::textMessageReceived, this, unexpectedText);
    connect(m_stream, &WebSocketStream::failed, this,
            [this](QWebSocketProtocol::CloseCode closeCode, const QString &reason) {
                fail(FailureCode::ProtocolError, reason, closeCode);
            });
    connect(m_stream, &WebSocketStream::pongReceived, this, [this] { m_lastHeard.start(); });
    connect(m_socket, &QWebSocket::bytesWritten, this, &TunnelSession::onTransportWritten);
    connect(m_socket, &QWebSocket::pong, this, [this] { m_lastHeard.start(); });
    connect(m_socket, &QWebSocket::disconnected, this, [this] {
        QString reason = m_endReason;
        if (reason.isEmpty()) {
            reason = m_socket->closeReason().isEmpty()
                         ? QStringLiteral("connection lost")
                         : QStringLiteral("closed by peer: %1").arg(m_socket->closeReason());
            if (m_socket->closeCode() == QWebSocketProtocol::CloseCodeTooMuchData)
                reason = QStringLiteral("message exceeds the limit of %1 bytes")
                             .arg(m_limits.maxMessageSize);
        }
        teardown(reason);
    });

    m_helloTimer.setSingleShot(true);
    m_helloTimer.setInterval(m_limits.helloTimeoutMs);
    connect(&m_helloTimer, &QTimer::timeout, this, [this] {
        fail(FailureCode::ProtocolError,
             QStringLiteral("no hello within %1 ms").arg(m_limits.helloTimeoutMs));
    });
    m_keepAliveTimer.setInterval(m_limits.keepAliveMs);
    connect(&m_keepAliveTimer, &QTimer::timeout, this, &TunnelSession::checkKeepAlive);
}

TunnelSession::~TunnelSession()
{
    m_ended = true;
    const auto channels = m_channels.values();
    m_channels.clear();
    for (TcpChannel *channel : channels)
        delete channel;
}

void TunnelSession::start(const QString &localName)
{
    m_lastHeard.start();
    m_helloTimer.start();
    m_keepAliveTimer.start();
    send(MessageCodec::hello(protocol::kMinVersion, protocol::kVersion, m_limits.maxMessageSize,
                             localName));
}

quint64 TunnelSession::bufferedBytes() const
{
    quint64 total = 0;
    for (const TcpChannel *channel : m_channels)
        total += channel->buffered();
    return total;
}

qint64 TunnelSession::transportBacklog() const
{
    return m_socket->bytesToWrite();
}

TcpChannel *TunnelSession::openChannel(StreamSocket *local, const QString &host, quint16 port)
{
    const QString target = formatEndpoint(host, port);
    if (!m_ready || m_ended || m_channels.size() >= m_limits.maxChannels) {
        qCWarning(lcSession).noquote()
            << QStringLiteral("refusing %1 -> %2: %3")
                   .arg(
                       local->peerAddress(), target,
                       m_ready
                           ? QStringLiteral("channel limit of %1 reached").arg(m_limits.maxChannels)
                           : QStringLiteral("session not ready"));
        local->abort();
        local->deleteLater();
        return nullptr;
    }
    const quint32 id = m_nextChannelId;
    m_nextChannelId += 2;
    auto *channel =
        new TcpChannel(this, id, local, local->peerAddress(), target, m_limits.receiveWindow);
    m_channels.insert(id, channel);
    send(MessageCodec::open(id, ChannelTransport::Tcp, m_limits.receiveWindow, host, port));
    if (allowsEarlyData())
        channel->sendEarly(protocol::kEarlyWindow);
    connect(channel, &TcpChannel::opened, this, [this, channel] {
        qCInfo(lcSession).noquote() << QStringLiteral("channel %1 %2 -> %3 opened")
                                           .arg(channel->id())
                                           .arg(channel->peer(), channel->target());
        Q_EMIT channelOpened(channel);
    });
    return channel;
}

quint32 TunnelSession::requestListen(const QString &bindHost, quint16 port)
{
    const quint32 id = m_nextListenId++;
    send(MessageCodec::listen(id, bindHost, port));
    return id;
}

void TunnelSession::answerListen(quint32 requestId, quint16 boundPort)
{
    send(MessageCodec::listenOk(requestId, boundPort));
}

void TunnelSession::cancelListen(quint32 requestId)
{
    send(MessageCodec::unlisten(requestId));
}

void TunnelSession::refuseListen(quint32 requestId, FailureCode code, const QString &reason)
{
    send(MessageCodec::listenFailed(requestId, code, reason));
}

void TunnelSession::close(const QString &reason)
{
    if (m_ended)
        return;
    m_endReason = reason;
    send(MessageCodec::goAway(FailureCode::Shutdown, reason));
    m_socket->close(QWebSocketProtocol::CloseCodeNormal, reason.left(120));
    teardown(reason);
}

void TunnelSession::send(QByteArray message)
{
    if (!m_ended)
        m_stream->sendBinary(std::move(message));
}

bool TunnelSession::canSend() const
{
    if (m_socket->bytesToWrite() < m_limits.writeWatermark)
        return true;
    const_cast<TunnelSession *>(this)->m_transportBlocked = true;
    return false;
}

void TunnelSession::onTransportWritten()
{
    if (!m_transportBlocked || m_socket->bytesToWrite() >= m_limits.writeWatermark)
        return;
    m_transportBlocked = false;
    for (TcpChannel *channel : std::as_const(m_channels))
        channel->resumeReading();
}

void TunnelSession::channelFinished(TcpChannel *channel)
{
    if (m_channels.remove(channel->id()) == 0)
        return;
    m_opening.remove(channel->id());
    const ChannelSummary summary = channel->summary();
    if (summary.error.isEmpty())
        qCInfo(lcSession).noquote() << describe(summary);
    else
        qCWarning(lcSession).noquote() << describe(summary);
    channel->deleteLater();
    Q_EMIT channel->finished(summary);
    ++m_channelsFinished;
    m_finishedBytesIn += summary.bytesIn;
    m_finishedBytesOut += summary.bytesOut;
    Q_EMIT channelClosed(summary);
}

bool TunnelSession::isOurs(quint32 id) const
{
    return (id % 2 == 1) == (m_role == Role::Dialer);
}

void TunnelSession::handleMessage(QByteArrayView bytes)
{
    if (m_ended)
        return;
    m_lastHeard.start();
    const MessageCodec::DecodeResult decoded = MessageCodec::decode(bytes, m_limits.maxMessageSize);
    if (!decoded.message) {
        fail(FailureCode::ProtocolError,
             QStringLiteral("malformed message: %1").arg(decoded.error));
        return;
    }
    const Message &m = *decoded.message;
    if (!m_ready && m.type != MessageType::Hello) {
        fail(FailureCode::ProtocolError, QStringLiteral("expected hello, got another message"));
        return;
    }
    bool fatal = false;
    QString error;
    TcpChannel *channel = nullptr;
    switch (m.type) {
    case MessageType::Hello:
        handleHello(m);
        return;
    case MessageType::Open:
        handleOpen(m);
        return;
    case MessageType::GoAway:
        m_endReason =
            QStringLiteral("peer ended the session (%1): %2").arg(failureCodeName(m.code), m.text);
        qCInfo(lcSession).noquote() << m_endReason;
        m_socket->close();
        teardown(m_endReason);
        return;
    case MessageType::Listen:
        if (m_role == Role::Dialer)
            refuseListen(m.channel, FailureCode::NotAllowed,
                         QStringLiteral("this side does not accept listen requests"));
        else
            Q_EMIT listenRequested(m.channel, m.host, m.port);
        return;
    case MessageType::ListenOk:
        Q_EMIT listenAnswered(m.channel, true, m.port, QString());
        return;
    case MessageType::ListenFailed:
        Q_EMIT listenAnswered(m.channel, false, 0, m.text);
        return;
    case MessageType::Unlisten:
        // A dialer never listens, so there is nothing to stop on this side.
        if (m_role == Role::Acceptor)
            Q_EMIT unlistenRequested(m.channel);
        return;
    default:
        break;
    }
    channel = channelFor(m, fatal);
    if (!channel) {
        if (fatal)
            fail(FailureCode::ProtocolError,
                 QStringLiteral("message for channel %1, which was never opened").arg(m.channel));
        return;
    }
    switch (m.type) {
    case MessageType::OpenOk:
    case MessageType::OpenFailed:
        if (!isOurs(m.channel) || channel->state() != TcpChannel::State::Opening) {
            error = QStringLiteral("unexpected open answer for channel %1").arg(m.channel);
            break;
        }
        if (m.type == MessageType::OpenOk)
            channel->handleOpenOk(m.window);
        else
            channel->handleOpenFailed(m.code, m.text);
        break;
    case MessageType::Data:
        error = channel->handleData(m.offset, m.payload);
        break;
    case MessageType::Credit:
        error = channel->handleCredit(m.offset, m.window);
        break;
    case MessageType::Fin:
        error = channel->handleFin(m.offset);
        break;
    case MessageType::Reset:
        channel->handleReset(m.code, m.text);
        break;
    default:
        break;
    }
    if (!error.isEmpty())
        fail(FailureCode::ProtocolError, error);
}

TcpChannel *TunnelSession::channelFor(const Message &m, bool &fatal)
{
    if (TcpChannel *channel = m_channels.value(m.channel))
        return channel;
    // Messages can cross a reset or close on the wire; ids are never reused, so a message for an
    // id that existed once is stale rather than wrong.
    const bool existedOnce = isOurs(m.channel)
                                 ? m.channel < m_nextChannelId
                                 : m.channel != 0 && m.channel <= m_highestPeerChannelId;
    fatal = !existedOnce;
    return nullptr;
}

void TunnelSession::handleHello(const Message &m)
{
    if (m_ready) {
        fail(FailureCode::ProtocolError, QStringLiteral("second hello"));
        return;
    }
    const quint16 version = qMin(protocol::kVersion, m.maxVersion);
    if (version < qMax(protocol::kMinVersion, m.minVersion)) {
        fail(FailureCode::ProtocolError,
             QStringLiteral(
                 "incompatible protocol: peer speaks versions %1 to %2, we speak %3 to %4")
                 .arg(m.minVersion)
                 .arg(m.maxVersion)
                 .arg(protocol::kMinVersion)
                 .arg(protocol::kVersion));
        return;
    }
    m_peerName = m.text;
    m_peerMaxMessageSize = m.maxMessageSize;
    m_version = version;
    m_ready = true;
    m_helloTimer.stop();
    Q_EMIT ready();
}

void TunnelSession::handleOpen(const Message &m)
{
    if (isOurs(m.channel) || m.channel <= m_highestPeerChannelId) {
        fail(FailureCode::ProtocolError,
             QStringLiteral("peer opened channel %1, which is not a new id of its own")
                 .arg(m.channel));
        return;
    }
    m_highestPeerChannelId = m.channel;
    const QString target = formatEndpoint(m.host, m.port);
    auto refuse = [&](FailureCode code, const QString &reason) {
        qCWarning(lcSession).noquote() << QStringLiteral("refused channel %1 from %2 to %3: %4")
                                              .arg(m.channel)
                                              .arg(m_peerAddress, target, reason);
        send(MessageCodec::openFailed(m.channel, code, reason));
    };
    if (m.transport != ChannelTransport::Tcp) {
        refuse(FailureCode::NotAllowed, QStringLiteral("only TCP channels are supported"));
        return;
    }
    if (!m_policy) {
        refuse(FailureCode::NotAllowed, QStringLiteral("this side accepts no channels"));
        return;
    }
    if (m_channels.size() >= m_limits.maxChannels) {
        refuse(FailureCode::LimitReached,
               QStringLiteral("channel limit of %1 reached").arg(m_limits.maxChannels));
        return;
    }
    if (m_opening.size() >= m_limits.maxPendingOpens) {
        refuse(FailureCode::LimitReached,
               QStringLiteral("%1 channels are already opening").arg(m_opening.size()));
        return;
    }
    auto *channel = new TcpChannel(this, m.channel, new StreamSocket, m_peerAddress, target,
                                   m_limits.receiveWindow);
    channel->setPeerWindow(m.window);
    if (allowsEarlyData())
        channel->acceptEarly(protocol::kEarlyWindow);
    m_channels.insert(m.channel, channel);
    m_opening.insert(m.channel);
    connect(channel, &TcpChannel::opened, this, [this, channel] {
        m_opening.remove(channel->id());
        qCInfo(lcSession).noquote() << QStringLiteral("channel %1 %2 -> %3 opened")
                                           .arg(channel->id())
                                           .arg(channel->peer(), channel->target());
        Q_EMIT channelOpened(channel);
    });
    QPointer<TcpChannel> guard(channel);
    m_policy->resolve(m.host, m.port, channel, [this, guard](const TargetResolution &r) {
        if (guard)
            guard->connectTarget(r, m_limits.connectTimeoutMs);
    });
}

void TunnelSession::fail(FailureCode code, const QString &reason,
                         QWebSocketProtocol::CloseCode closeCode)
{
    if (m_ended)
        return;
    qCWarning(lcSession).noquote()
        << QStringLiteral("session with %1 failed: %2").arg(m_peerAddress, reason);
    m_endReason = reason;
    send(MessageCodec::goAway(code, reason));
    m_socket->close(closeCode, reason.left(120));
    teardown(reason);
}

void TunnelSession::teardown(const QString &reason)
{
    if (m_ended)
        return;
    m_ended = true;
    m_stream->stop();
    m_helloTimer.stop();
    m_keepAliveTimer.stop();
    const auto channels = m_channels.values();
    for (TcpChannel *channel : channels)
        channel->drop(QStringLiteral("session ended: %1").arg(reason));
    qCInfo(lcSession).noquote()
        << QStringLiteral("session with %1 closed: %2 (%3 channels, in %4 B, out %5 B, %6 s)")
               .arg(m_peerAddress, reason)
               .arg(m_channelsFinished)
               .arg(m_finishedBytesIn)
               .arg(m_finishedBytesOut)
               .arg(double(m_age.elapsed()) / 1000.0, 0, 'f', 3);
    Q_EMIT closed(reason);
}

void TunnelSession::checkKeepAlive()
{
    if (m_lastHeard.elapsed() > 3 * qint64(m_limits.keepAliveMs)) {
        fail(FailureCode::TimedOut,
             QStringLiteral("no answer from the peer for %1 s").arg(m_lastHeard.elapsed() / 1000));
        return;
    }
    m_socket->ping();
}

} // namespace wstunnel
