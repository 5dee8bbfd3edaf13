#include "TunnelSession.h"

#include "Logging.h"
#include "TargetPolicy.h"
#include "channel/ChannelEndpoint.h"
#include "config/ForwardSpec.h"
#include "protocol/MessageCodec.h"

#include <QPointer>
#include <QRandomGenerator>

#include <utility>

namespace wstunnel {

namespace {

QString describe(const ChannelSummary &s)
{
    const QString datagrams = s.datagram
                                  ? QStringLiteral(", datagrams in %1 out %2, dropped in %3 out %4")
                                        .arg(s.datagramsIn)
                                        .arg(s.datagramsOut)
                                        .arg(s.droppedIn)
                                        .arg(s.droppedOut)
                                  : QString();
    return QStringLiteral("channel %1 %2 -> %3 closed%4: in %5 B, out %6 B%7, %8 s")
        .arg(s.id)
        .arg(s.peer, s.target, s.error.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(s.error))
        .arg(s.bytesIn)
        .arg(s.bytesOut)
        .arg(datagrams)
        .arg(double(s.durationMs) / 1000.0, 0, 'f', 3);
}

// A receiver acknowledges replayable messages after this many, or this many bytes of them, or
// after kAckDelayMs, so that the sender's replay log stays short.
constexpr quint64 kAckEveryMessages = 64;
constexpr qint64 kAckEveryBytes = 1024 * 1024;
constexpr int kAckDelayMs = 100;

QByteArray randomBytes(int size)
{
    QList<quint32> words((size + 3) / 4);
    QRandomGenerator::system()->generate(words.begin(), words.end());
    return QByteArray(reinterpret_cast<const char *>(words.constData()), size);
}

QString seconds(qint64 ms)
{
    return QString::number(double(ms) / 1000.0, 'g', 6);
}

QString channelTarget(const QString &host, quint16 port, ChannelTransport transport)
{
    return formatEndpoint(host, port) +
           (transport == ChannelTransport::Udp ? QStringLiteral("/udp") : QString());
}

} // namespace

TunnelSession::TunnelSession(Link *link, Role role, const SessionLimits &limits, QObject *parent)
    : QObject(parent)
    , m_link(link)
    , m_role(role)
    , m_limits(limits)
    , m_nextChannelId(role == Role::Dialer ? 1 : 2)
{
    m_age.start();
    m_windowTuning.maxWindow = m_limits.maxReceiveWindow;
    m_windowTuning.sessionBudgetLimit = m_limits.sessionWindowBudget;
    m_windowTuning.processBudgetLimit = m_limits.processWindowBudget;
    m_windowTuning.sessionBudget = &m_windowBudget;
    m_windowTuning.processBudget = &WindowBudget::processWide();
    m_windowTuning.clockUs = [this] { return m_age.nsecsElapsed() / 1000; };
    m_link->setParent(this);
    m_peerAddress = m_link->peerAddress();
    connectLink();

    m_helloTimer.setSingleShot(true);
    m_helloTimer.setInterval(m_limits.helloTimeoutMs);
    connect(&m_helloTimer, &QTimer::timeout, this, [this] {
        if (m_resuming) {
            abandonLink(QStringLiteral("no answer to the resume request within %1 ms")
                            .arg(m_limits.helloTimeoutMs));
            return;
        }
        fail(FailureCode::ProtocolError,
             QStringLiteral("no hello within %1 ms").arg(m_limits.helloTimeoutMs));
    });
    m_idleTimer.setSingleShot(true);
    connect(&m_idleTimer, &QTimer::timeout, this, &TunnelSession::expireIdleDatagramChannels);
    m_ackTimer.setSingleShot(true);
    m_ackTimer.setInterval(kAckDelayMs);
    connect(&m_ackTimer, &QTimer::timeout, this, &TunnelSession::sendAck);
    m_resumeTimer.setSingleShot(true);
    connect(&m_resumeTimer, &QTimer::timeout, this, &TunnelSession::expireHold);
}

void TunnelSession::connectLink()
{
    connect(m_link, &Link::messageReceived, this, &TunnelSession::handleMessage);
    connect(m_link, &Link::drained, this, &TunnelSession::onLinkDrained);
    connect(m_link, &Link::failed, this, [this](LinkEnding ending, const QString &reason) {
        fail(FailureCode::ProtocolError, reason, ending);
    });
    connect(m_link, &Link::closed, this, &TunnelSession::onLinkClosed);
}

void TunnelSession::onLinkClosed(const QString &reason)
{
    if (m_endReason.isEmpty() && canResume())
        hold(reason);
    else
        teardown(m_endReason.isEmpty() ? reason : m_endReason);
}

// The link is gone but the session may come back: channels stay, their endpoints unread, and
// what they send waits in the replay log.
void TunnelSession::hold(const QString &reason)
{
    if (m_ended)
        return;
    if (Link *lost = std::exchange(m_link, nullptr)) {
        lost->disconnect(this);
        lost->deleteLater();
    }
    m_resuming = false;
    m_helloTimer.stop();
    m_ackTimer.stop();
    if (isHeld()) {
        qCInfo(lcSession).noquote()
            << QStringLiteral("resuming the session with %1 failed: %2").arg(m_peerAddress, reason);
    } else {
        m_heldSince.start();
        m_resumeTimer.start(m_limits.resumeTimeoutMs);
        qCWarning(lcSession).noquote()
            << QStringLiteral("session with %1 lost its connection (%2); holding %3 connections "
                              "for %4 s")
                   .arg(m_peerAddress, reason)
                   .arg(m_channels.size())
                   .arg(seconds(m_limits.resumeTimeoutMs));
    }
    Q_EMIT linkLost(reason);
}

void TunnelSession::abandonLink(const QString &reason)
{
    if (!m_link)
        return;
    Link *link = m_link;
    link->disconnect(this);
    link->close(LinkEnding::Orderly, reason);
    hold(reason);
}

void TunnelSession::expireHold()
{
    const QString reason =
        QStringLiteral("the connection to the %1 was lost %2 s ago and did not come back")
            .arg(m_role == Role::Dialer ? QStringLiteral("remote") : QStringLiteral("peer"))
            .arg(seconds(m_limits.resumeTimeoutMs));
    m_endReason = reason;
    if (Link *link = std::exchange(m_link, nullptr)) {
        link->disconnect(this);
        link->close(LinkEnding::Orderly, reason);
        link->deleteLater();
    }
    teardown(reason);
}

bool TunnelSession::ticketMatches(QByteArrayView secret) const
{
    if (m_secret.size() != protocol::kSessionSecretSize || secret.size() != m_secret.size())
        return false;
    // Every byte is compared whatever differs, so the time taken leaks nothing.
    unsigned char difference = 0;
    for (qsizetype i = 0; i < m_secret.size(); ++i)
        difference |= static_cast<unsigned char>(m_secret.at(i) ^ secret.at(i));
    return difference == 0;
}

void TunnelSession::issueTicket()
{
    if (m_sessionId.isEmpty())
        m_sessionId = randomBytes(protocol::kSessionIdSize);
    // A fresh secret on every resume makes each ticket good for one resume only.
    m_secret = randomBytes(protocol::kSessionSecretSize);
    if (m_link)
        m_link->send(MessageCodec::sessionTicket(m_sessionId, m_secret));
}

void TunnelSession::resumeOver(Link *link)
{
    if (m_ended || m_link || m_role != Role::Dialer || !canResume()) {
        link->deleteLater();
        return;
    }
    m_link = link;
    m_link->setParent(this);
    m_peerAddress = m_link->peerAddress();
    connectLink();
    m_resuming = true;
    m_helloReceived = false;
    m_helloTimer.start();
    m_link->send(MessageCodec::hello(protocol::kMinVersion, protocol::kVersion,
                                     m_limits.maxMessageSize, m_localName));
}

QString TunnelSession::resumeFrom(TunnelSession &fresh, quint64 peerReceived)
{
    if (m_ended || m_role != Role::Acceptor || !canResume() || !fresh.m_link)
        return QStringLiteral("the session has ended");
    if (peerReceived < m_replayStart || peerReceived > m_sentCount)
        return QStringLiteral("the peer received %1 messages, but messages %2 to %3 are kept")
            .arg(peerReceived)
            .arg(m_replayStart)
            .arg(m_sentCount);
    fresh.m_resumeRequested = false;
    Link *link = std::exchange(fresh.m_link, nullptr);
    link->disconnect(&fresh);
    // The peer gave up on a link this end still thought alive (a half-open connection).
    if (Link *old = std::exchange(m_link, nullptr)) {
        old->disconnect(this);
        old->close(LinkEnding::Orderly, QStringLiteral("replaced by a resumed connection"));
        old->deleteLater();
    }
    if (!isHeld())
        m_heldSince.start();
    m_link = link;
    m_link->setParent(this);
    m_peerAddress = m_link->peerAddress();
    m_peerName = fresh.m_peerName;
    m_peerMaxMessageSize = fresh.m_peerMaxMessageSize;
    m_peerCapabilities = fresh.m_peerCapabilities;
    connectLink();
    m_link->send(MessageCodec::resumed(m_receivedCount));
    issueTicket();
    replayFrom(peerReceived);
    fresh.teardown(QStringLiteral("carried over into the resumed session"));
    finishResume();
    return QString();
}

void TunnelSession::refuseResume(FailureCode code, const QString &reason)
{
    if (!m_resumeRequested || !m_link)
        return;
    m_resumeRequested = false;
    m_endReason = QStringLiteral("resume refused: %1").arg(reason);
    m_link->send(MessageCodec::resumeFailed(code, reason));
    m_link->close(LinkEnding::Orderly, m_endReason);
    teardown(m_endReason);
}

void TunnelSession::finishResume()
{
    m_resuming = false;
    // The new WebSocket may take another route.
    m_windowTuning.forgetRoundTrip();
    m_helloTimer.stop();
    m_resumeTimer.stop();
    const qint64 downtime = m_heldSince.elapsed();
    qCInfo(lcSession).noquote() << QStringLiteral("session resumed after %1 s; %2 connections kept")
                                       .arg(double(downtime) / 1000.0, 0, 'f', 1)
                                       .arg(m_channels.size());
    Q_EMIT resumed(downtime, int(m_channels.size()));
    m_transportBlocked = true;
    onLinkDrained();
}

// Sends again, in order, every kept message from the first the peer did not receive.
bool TunnelSession::replayFrom(quint64 peerReceived)
{
    if (peerReceived < m_replayStart || peerReceived > m_sentCount)
        return false;
    trimReplayLog(peerReceived);
    for (const QByteArray &message : m_replayLog)
        m_link->send(message);
    return true;
}

void TunnelSession::trimReplayLog(quint64 acknowledged)
{
    while (m_replayStart < acknowledged && !m_replayLog.empty()) {
        m_replayBytes -= m_replayLog.front().size();
        m_replayLog.pop_front();
        ++m_replayStart;
    }
}

void TunnelSession::noteReceived(qsizetype size)
{
    ++m_receivedCount;
    m_bytesSinceAck += size;
    if (m_receivedCount - m_ackedCount >= kAckEveryMessages || m_bytesSinceAck >= kAckEveryBytes)
        sendAck();
    else if (!m_ackTimer.isActive())
        m_ackTimer.start();
}

void TunnelSession::sendAck()
{
    m_ackTimer.stop();
    if (!linkLive() || m_ackedCount == m_receivedCount)
        return;
    m_ackedCount = m_receivedCount;
    m_bytesSinceAck = 0;
    m_link->send(MessageCodec::ack(m_receivedCount));
}

Link *TunnelSession::detachLink()
{
    Link *link = std::exchange(m_link, nullptr);
    if (!link)
        return nullptr;
    link->disconnect(this);
    link->setParent(nullptr);
    qCInfo(lcSession).noquote() << QStringLiteral("session with %1 detached from its link (%2 "
                                                  "channels held)")
                                       .arg(m_peerAddress)
                                       .arg(m_channels.size());
    return link;
}

void TunnelSession::attachLink(Link *link)
{
    if (m_link || m_ended) {
        link->deleteLater();
        return;
    }
    m_link = link;
    m_link->setParent(this);
    m_peerAddress = m_link->peerAddress();
    connectLink();
    m_windowTuning.forgetRoundTrip();
    qCInfo(lcSession).noquote() << QStringLiteral("session attached to a link to %1 (%2 channels)")
                                       .arg(m_peerAddress)
                                       .arg(m_channels.size());
    for (QByteArray &message : std::exchange(m_outbox, {}))
        m_link->send(std::move(message));
    m_transportBlocked = true;
    onLinkDrained();
}

TunnelSession::~TunnelSession()
{
    m_ended = true;
    const auto channels = m_channels.values();
    m_channels.clear();
    for (Channel *channel : channels)
        delete channel;
}

void TunnelSession::start(const QString &localName)
{
    m_localName = localName;
    m_helloTimer.start();
    send(MessageCodec::hello(protocol::kMinVersion, protocol::kVersion, m_limits.maxMessageSize,
                             localName));
}

quint64 TunnelSession::bufferedBytes() const
{
    quint64 total = 0;
    for (const Channel *channel : m_channels)
        total += channel->buffered();
    return total;
}

qint64 TunnelSession::transportBacklog() const
{
    return m_link ? m_link->backlog() : 0;
}

Channel *TunnelSession::openChannel(ChannelEndpoint *local, const QString &host, quint16 port)
{
    const ChannelTransport transport = local->transport();
    const QString target = channelTarget(host, port, transport);
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
    if (transport == ChannelTransport::Udp)
        makeRoomForDatagramChannel();
    const quint32 id = m_nextChannelId;
    m_nextChannelId += 2;
    auto *channel =
        new Channel(this, id, local, local->peerAddress(), target, m_limits.receiveWindow, this);
    m_channels.insert(id, channel);
    if (channel->isDatagram())
        datagramActivity(channel);
    connect(channel, &Channel::openFailed, this, &TunnelSession::channelOpenFailed);
    send(MessageCodec::open(id, transport, m_limits.receiveWindow, host, port));
    if (allowsEarlyData())
        channel->sendEarly(protocol::kEarlyWindow);
    connect(channel, &Channel::opened, this, [this, channel] {
        qCInfo(lcSession).noquote() << QStringLiteral("channel %1 %2 -> %3 opened")
                                           .arg(channel->id())
                                           .arg(channel->peer(), channel->target());
        Q_EMIT channelOpened(channel);
    });
    return channel;
}

quint32 TunnelSession::requestListen(const QString &bindHost, quint16 port,
                                     ChannelTransport transport)
{
    if (!m_peerCapabilities.testFlag(Capability::AcceptsListen) ||
        (transport == ChannelTransport::Udp &&
         !m_peerCapabilities.testFlag(Capability::DatagramChannels)))
        return 0;
    const quint32 id = m_nextListenId++;
    send(MessageCodec::listen(id, bindHost, port, transport));
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

void TunnelSession::sendAgentStatus(AgentState state, const QString &name, const QString &address)
{
    send(MessageCodec::agentStatus(state, name, address));
}

void TunnelSession::sendAgentList(const QList<AgentListing> &agents)
{
    send(MessageCodec::agentList(agents, m_peerMaxMessageSize));
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
    if (m_link)
        m_link->close(LinkEnding::Orderly, reason);
    teardown(reason);
}

void TunnelSession::send(QByteArray message)
{
    if (m_ended)
        return;
    m_lastActivityMs = m_age.elapsed();
    if (m_resumable && MessageCodec::isReplayable(MessageType(quint8(message.at(0))))) {
        // Kept (sharing the bytes) until the peer acknowledges it; without a live link it waits
        // here for the resume.
        ++m_sentCount;
        m_replayBytes += message.size();
        m_replayLog.push_back(message);
        if (linkLive())
            m_link->send(std::move(message));
        return;
    }
    if (m_link)
        m_link->send(std::move(message));
    else if (!m_resumable)
        m_outbox.append(std::move(message));
}

void TunnelSession::sendMessage(QByteArray message)
{
    send(std::move(message));
}

bool TunnelSession::canSend() const
{
    if (linkLive() && m_link->backlog() < m_limits.writeWatermark)
        return true;
    m_transportBlocked = true;
    return false;
}

qint64 TunnelSession::maxPayloadSize() const
{
    return qMin<qint64>(m_limits.chunkSize,
                        qint64(m_peerMaxMessageSize) - protocol::kDataHeaderSize);
}

QByteArray TunnelSession::takeReceivedMessage(QByteArrayView part)
{
    return m_link ? m_link->takeReceivedMessage(part) : QByteArray();
}

bool TunnelSession::canSendDatagram() const
{
    return linkLive() && m_link->backlog() < m_limits.writeWatermark / 2;
}

qint64 TunnelSession::maxDatagramSize() const
{
    return qMin<qint64>(protocol::kMaxDatagramSize,
                        qint64(m_peerMaxMessageSize) - protocol::kDataHeaderSize);
}

void TunnelSession::datagramActivity(Channel *channel)
{
    m_datagramRecency.touch(channel, m_age.elapsed());
    // A channel only ever becomes younger, so a running timer is never late.
    if (!m_idleTimer.isActive())
        scheduleIdleExpiry();
}

void TunnelSession::scheduleIdleExpiry()
{
    if (m_datagramRecency.isEmpty() || m_ended) {
        m_idleTimer.stop();
        return;
    }
    const qint64 due =
        m_datagramRecency.oldestTimeMs() + m_limits.datagramIdleTimeoutMs - m_age.elapsed();
    m_idleTimer.start(int(qBound(qint64(0), due, qint64(m_limits.datagramIdleTimeoutMs))));
}

void TunnelSession::expireIdleDatagramChannels()
{
    const qint64 now = m_age.elapsed();
    const QString reason = QStringLiteral("UDP flow idle for %1 s")
                               .arg(double(m_limits.datagramIdleTimeoutMs) / 1000.0, 0, 'g', 6);
    while (!m_datagramRecency.isEmpty() &&
           now - m_datagramRecency.oldestTimeMs() >= m_limits.datagramIdleTimeoutMs) {
        Channel *channel = m_datagramRecency.oldest();
        m_datagramRecency.remove(channel);
        channel->endFlow(FailureCode::TimedOut, reason);
    }
    scheduleIdleExpiry();
}

void TunnelSession::makeRoomForDatagramChannel()
{
    while (m_datagramRecency.size() >= qMax(1, m_limits.maxDatagramChannels)) {
        Channel *channel = m_datagramRecency.oldest();
        m_datagramRecency.remove(channel);
        channel->endFlow(FailureCode::LimitReached,
                         QStringLiteral("evicted: the session's limit of %1 UDP flows was reached")
                             .arg(m_limits.maxDatagramChannels));
    }
}

void TunnelSession::onLinkDrained()
{
    if (!m_transportBlocked || !linkLive() || m_link->backlog() >= m_limits.writeWatermark)
        return;
    m_transportBlocked = false;
    for (Channel *channel : std::as_const(m_channels))
        channel->resumeReading();
}

void TunnelSession::channelFinished(Channel *channel)
{
    if (m_channels.remove(channel->id()) == 0)
        return;
    if (m_opening.remove(channel->id()))
        scheduleQueuedOpens();
    m_datagramRecency.remove(channel);
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
    m_lastActivityMs = m_age.elapsed();
    const MessageCodec::DecodeResult decoded = MessageCodec::decode(bytes, m_limits.maxMessageSize);
    if (!decoded.message) {
        fail(FailureCode::ProtocolError,
             QStringLiteral("malformed message: %1").arg(decoded.error));
        return;
    }
    const Message &m = *decoded.message;
    if (m_resuming) {
        handleResumeHandshake(m);
        return;
    }
    if (m_resumable && MessageCodec::isReplayable(m.type))
        noteReceived(bytes.size());
    if (!m_helloReceived && m.type != MessageType::Hello) {
        fail(FailureCode::ProtocolError, QStringLiteral("expected hello, got another message"));
        return;
    }
    if (m_helloReceived && !m_ready && m.type == MessageType::Resume) {
        handleResumeRequest(m);
        return;
    }
    if (m_helloReceived && !m_ready && m.type != MessageType::Capabilities) {
        fail(FailureCode::ProtocolError,
             QStringLiteral("expected capabilities after the hello, got another message"));
        return;
    }
    bool fatal = false;
    QString error;
    Channel *channel = nullptr;
    switch (m.type) {
    case MessageType::Hello:
        handleHello(m);
        return;
    case MessageType::Capabilities:
        handleCapabilities(m);
        return;
    case MessageType::Open:
        handleOpen(m);
        return;
    case MessageType::GoAway:
        m_endReason =
            QStringLiteral("peer ended the session (%1): %2").arg(failureCodeName(m.code), m.text);
        qCInfo(lcSession).noquote() << m_endReason;
        if (m_link)
            m_link->close(LinkEnding::Orderly, m_endReason);
        teardown(m_endReason);
        return;
    case MessageType::Listen:
        if (!m_localCapabilities.testFlag(Capability::AcceptsListen))
            refuseListen(m.channel, FailureCode::NotAllowed,
                         QStringLiteral("this side does not accept listen requests"));
        else if (m.transport == ChannelTransport::Udp &&
                 !m_localCapabilities.testFlag(Capability::DatagramChannels))
            refuseListen(m.channel, FailureCode::NotAllowed,
                         QStringLiteral("this side does not carry UDP"));
        else
            Q_EMIT listenRequested(m.channel, m.host, m.port, m.transport);
        return;
    case MessageType::ListenOk:
        Q_EMIT listenAnswered(m.channel, true, m.port, QString());
        return;
    case MessageType::ListenFailed:
        Q_EMIT listenAnswered(m.channel, false, 0, m.text);
        return;
    case MessageType::Unlisten:
        // An end that takes no listen requests has nothing to stop.
        if (m_localCapabilities.testFlag(Capability::AcceptsListen))
            Q_EMIT unlistenRequested(m.channel);
        return;
    case MessageType::AgentStatus:
        if (!m_peerCapabilities.testFlag(Capability::Relay))
            fail(FailureCode::ProtocolError,
                 QStringLiteral("agent status from a peer that is not a hub"));
        else
            Q_EMIT agentStatusReceived(m.agentState, m.host, m.text);
        return;
    case MessageType::SessionTicket:
        if (m_role != Role::Dialer || !m_resumable) {
            fail(FailureCode::ProtocolError, QStringLiteral("unexpected session ticket"));
            return;
        }
        m_sessionId = m.sessionId.toByteArray();
        m_secret = m.secret.toByteArray();
        return;
    case MessageType::Ack:
        if (!m_resumable || m.offset > m_sentCount) {
            fail(FailureCode::ProtocolError,
                 QStringLiteral("acknowledgement of %1 messages, but %2 were sent")
                     .arg(m.offset)
                     .arg(m_sentCount));
            return;
        }
        trimReplayLog(m.offset);
        return;
    case MessageType::Resume:
    case MessageType::Resumed:
    case MessageType::ResumeFailed:
        fail(FailureCode::ProtocolError,
             QStringLiteral("unexpected resume message in a running session"));
    case MessageType::AgentList:
        if (!m_peerCapabilities.testFlag(Capability::Relay))
            fail(FailureCode::ProtocolError,
                 QStringLiteral("agent list from a peer that is not a hub"));
        else
            Q_EMIT agentListReceived(m.agents);
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
        if (!isOurs(m.channel) || channel->state() != Channel::State::Opening) {
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

Channel *TunnelSession::channelFor(const Message &m, bool &fatal)
{
    if (Channel *channel = m_channels.value(m.channel))
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
    m_helloReceived = true;
    if (m_version >= protocol::kCapabilitiesVersion) {
        // Both ends send theirs once they know the other speaks version 3; ready on the peer's.
        send(MessageCodec::capabilities(quint32(m_localCapabilities.toInt())));
        return;
    }
    // Before capabilities, the end that accepted the WebSocket took listen requests.
    m_peerCapabilities =
        m_role == Role::Dialer ? Capabilities(Capability::AcceptsListen) : Capabilities();
    becomeReady();
}

void TunnelSession::handleCapabilities(const Message &m)
{
    if (!m_helloReceived || m_ready || m_version < protocol::kCapabilitiesVersion) {
        fail(FailureCode::ProtocolError, QStringLiteral("unexpected capabilities message"));
        return;
    }
    m_peerCapabilities = Capabilities::fromInt(int(m.capabilities));
    becomeReady();
}

void TunnelSession::becomeReady()
{
    m_ready = true;
    m_helloTimer.stop();
    m_resumable = m_version >= protocol::kResumeVersion &&
                  m_localCapabilities.testFlag(Capability::Resume) &&
                  m_peerCapabilities.testFlag(Capability::Resume);
    if (m_resumable && m_role == Role::Acceptor)
        issueTicket();
    Q_EMIT ready();
}

// The dialer, on a new link: the peer's hello, then our resume request instead of our
// capabilities, then the peer's answer.
void TunnelSession::handleResumeHandshake(const Message &m)
{
    if (!m_helloReceived && m.type != MessageType::Hello) {
        fail(FailureCode::ProtocolError, QStringLiteral("expected hello, got another message"));
        return;
    }
    switch (m.type) {
    case MessageType::Hello: {
        if (m_helloReceived) {
            fail(FailureCode::ProtocolError, QStringLiteral("second hello"));
            return;
        }
        if (qMin(protocol::kVersion, m.maxVersion) < protocol::kResumeVersion) {
            m_endReason = QStringLiteral("cannot resume: the remote now speaks protocol versions "
                                         "%1 to %2, without resume")
                              .arg(m.minVersion)
                              .arg(m.maxVersion);
            m_link->close(LinkEnding::Orderly, m_endReason);
            teardown(m_endReason);
            return;
        }
        m_helloReceived = true;
        m_peerName = m.text;
        m_peerMaxMessageSize = m.maxMessageSize;
        m_link->send(MessageCodec::resume(m_sessionId, m_secret, m_receivedCount));
        return;
    }
    case MessageType::Capabilities:
        m_peerCapabilities = Capabilities::fromInt(int(m.capabilities));
        return;
    case MessageType::Resumed:
        if (!replayFrom(m.offset)) {
            fail(FailureCode::ProtocolError,
                 QStringLiteral("the peer received %1 messages, but messages %2 to %3 are kept")
                     .arg(m.offset)
                     .arg(m_replayStart)
                     .arg(m_sentCount));
            return;
        }
        finishResume();
        return;
    case MessageType::ResumeFailed:
        // A hub is named as such: behind it, a restarted agent is another story.
        m_endReason =
            QStringLiteral("resume refused by the %1: %2")
                .arg(m_peerCapabilities.testFlag(Capability::Relay) ? QStringLiteral("hub")
                                                                    : QStringLiteral("remote"),
                     m.text);
        qCWarning(lcSession).noquote() << m_endReason;
        m_link->close(LinkEnding::Orderly, m_endReason);
        teardown(m_endReason);
        return;
    case MessageType::GoAway:
        m_endReason =
            QStringLiteral("peer ended the session (%1): %2").arg(failureCodeName(m.code), m.text);
        m_link->close(LinkEnding::Orderly, m_endReason);
        teardown(m_endReason);
        return;
    default:
        fail(FailureCode::ProtocolError,
             QStringLiteral("expected the answer to the resume request, got another message"));
        return;
    }
}

void TunnelSession::handleResumeRequest(const Message &m)
{
    if (m_role != Role::Acceptor || m_version < protocol::kResumeVersion ||
        !m_localCapabilities.testFlag(Capability::Resume)) {
        fail(FailureCode::ProtocolError, QStringLiteral("unexpected resume request"));
        return;
    }
    m_helloTimer.stop();
    m_resumeRequested = true;
    Q_EMIT resumeRequested(m.sessionId.toByteArray(), m.secret.toByteArray(), m.offset);
    refuseResume(FailureCode::NotAllowed, QStringLiteral("this end keeps no sessions to resume"));
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
    const QString target = channelTarget(m.host, m.port, m.transport);
    auto refuse = [&](FailureCode code, const QString &reason) {
        qCWarning(lcSession).noquote() << QStringLiteral("refused channel %1 from %2 to %3: %4")
                                              .arg(m.channel)
                                              .arg(m_peerAddress, target, reason);
        send(MessageCodec::openFailed(m.channel, code, reason));
        Q_EMIT channelOpenFailed(code);
    };
    if (m.transport == ChannelTransport::Udp &&
        !m_localCapabilities.testFlag(Capability::DatagramChannels)) {
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
    m_queuedOpens.removeIf([](const QueuedOpen &queued) { return queued.channel.isNull(); });
    const bool mustQueue = m_opening.size() >= m_limits.maxPendingOpens;
    if (mustQueue && m_queuedOpens.size() >= m_limits.maxQueuedOpens) {
        refuse(FailureCode::LimitReached,
               QStringLiteral("limit reached: %1 channels are opening and %2 more waiting")
                   .arg(m_opening.size())
                   .arg(m_queuedOpens.size()));
        return;
    }
    ChannelEndpoint *endpoint = m_policy->createEndpoint(m.transport);
    if (!endpoint) {
        refuse(FailureCode::NotAllowed, QStringLiteral("this side does not carry such channels"));
        return;
    }
    if (m.transport == ChannelTransport::Udp)
        makeRoomForDatagramChannel();
    auto *channel =
        new Channel(this, m.channel, endpoint, m_peerAddress, target, m_limits.receiveWindow, this);
    channel->setPeerWindow(m.window);
    if (channel->isDatagram())
        datagramActivity(channel);
    if (allowsEarlyData())
        channel->acceptEarly(protocol::kEarlyWindow);
    m_channels.insert(m.channel, channel);
    connect(channel, &Channel::openFailed, this, &TunnelSession::channelOpenFailed);
    connect(channel, &Channel::opened, this, [this, channel] {
        if (m_opening.remove(channel->id()))
            scheduleQueuedOpens();
        qCInfo(lcSession).noquote() << QStringLiteral("channel %1 %2 -> %3 opened")
                                           .arg(channel->id())
                                           .arg(channel->peer(), channel->target());
        Q_EMIT channelOpened(channel);
    });
    if (mustQueue)
        m_queuedOpens.append(QueuedOpen{channel, m.host, m.port, m.transport});
    else
        beginOpening(channel, m.host, m.port, m.transport);
}

void TunnelSession::beginOpening(Channel *channel, const QString &host, quint16 port,
                                 ChannelTransport transport)
{
    m_opening.insert(channel->id());
    QPointer<Channel> guard(channel);
    m_policy->resolve(host, port, transport, channel, [this, guard](const TargetResolution &r) {
        if (guard)
            guard->connectTarget(r, m_limits.connectTimeoutMs);
    });
}

void TunnelSession::scheduleQueuedOpens()
{
    // Later, not from inside a finishing channel: an open that fails at once would finish its
    // channel and recurse here, once per queued open.
    if (m_queuedOpens.isEmpty() || m_queuedOpensScheduled)
        return;
    m_queuedOpensScheduled = true;
    QMetaObject::invokeMethod(this, &TunnelSession::openQueued, Qt::QueuedConnection);
}

void TunnelSession::openQueued()
{
    m_queuedOpensScheduled = false;
    while (!m_ended && m_opening.size() < m_limits.maxPendingOpens && !m_queuedOpens.isEmpty()) {
        const QueuedOpen next = m_queuedOpens.takeFirst();
        if (next.channel && m_channels.contains(next.channel->id()))
            beginOpening(next.channel, next.host, next.port, next.transport);
    }
}

void TunnelSession::fail(FailureCode code, const QString &reason, LinkEnding ending)
{
    if (m_ended)
        return;
    qCWarning(lcSession).noquote()
        << QStringLiteral("session with %1 failed: %2").arg(m_peerAddress, reason);
    m_endReason = reason;
    send(MessageCodec::goAway(code, reason));
    if (m_link)
        m_link->close(ending, reason);
    teardown(reason);
}

void TunnelSession::teardown(const QString &reason)
{
    if (m_ended)
        return;
    m_ended = true;
    m_helloTimer.stop();
    m_idleTimer.stop();
    m_ackTimer.stop();
    m_resumeTimer.stop();
    m_outbox.clear();
    m_replayLog.clear();
    m_replayBytes = 0;
    const auto channels = m_channels.values();
    m_channelsEndedWithSession = int(channels.size());
    for (Channel *channel : channels)
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

} // namespace wstunnel
