#pragma once

#include "SessionLimits.h"
#include "channel/Channel.h"
#include "channel/ChannelHost.h"
#include "link/Link.h"
#include "protocol/Message.h"
#include "util/RecencyList.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <deque>
#include <memory>

namespace wstunnel {

class ChannelEndpoint;
class TargetPolicy;

// One session between two ends (docs/PROTOCOL.md), carrying many channels over a link. Both ends
// run the same class. The end that dialed numbers its channels odd, the end that accepted even,
// so either side may open channels at any time; what else an end accepts (listen requests,
// datagram channels) is what it announces as its capabilities, not who dialed.
//
// The session outlives its link: detachLink() leaves the channels open and their endpoints
// unread, and attachLink() carries on over another link.
//
// Resume (version 4, both ends announce Capability::Resume): the acceptor gives the dialer a
// ticket (id and secret). Every message that may be lost with a link is kept until the peer
// acknowledges it. When the link is lost, the session holds its channels for
// limits().resumeTimeoutMs: the dialer resumes over a new link with resumeOver(); on the
// acceptor's side, a fresh session that received the resume request hands its link over to the
// held session (ResumableSessions, resumeFrom()). Each end then replays what the other did not
// receive (docs/PROTOCOL.md, "Resuming a session").
//
// Datagram channels (UDP flows) are ordered by their last datagram: each end closes a flow idle
// for limits().datagramIdleTimeoutMs, and a new flow beyond limits().maxDatagramChannels evicts
// the least recently used one.
class TunnelSession : public QObject, private ChannelHost
{
    Q_OBJECT

public:
    enum class Role { Dialer, Acceptor };

    // Takes ownership of the link.
    TunnelSession(Link *link, Role role, const SessionLimits &limits, QObject *parent = nullptr);
    ~TunnelSession() override;

    // What this end accepts from the peer; set before start().
    void setLocalCapabilities(Capabilities capabilities) { m_localCapabilities = capabilities; }
    Capabilities localCapabilities() const { return m_localCapabilities; }
    // What the peer accepts: announced from version 3 on; for older peers what they did before
    // capabilities existed (the end that accepted took listen requests).
    Capabilities peerCapabilities() const { return m_peerCapabilities; }
    quint16 version() const { return m_version; }

    void start(const QString &localName);
    bool isReady() const { return m_ready; }
    Role role() const { return m_role; }
    QString peerName() const { return m_peerName; }
    QString peerAddress() const { return m_peerAddress; }
    const SessionLimits &limits() const { return m_limits; }

    // Who decides on channels the peer opens; without one they are refused.
    void setTargetPolicy(std::shared_ptr<TargetPolicy> policy) { m_policy = std::move(policy); }

    // Carries a local endpoint to host:port on the far side, over a channel of the endpoint's
    // transport; the session owns the endpoint.
    Channel *openChannel(ChannelEndpoint *local, const QString &host, quint16 port);
    int datagramChannels() const { return int(m_datagramRecency.size()); }
    QList<Channel *> channels() const { return m_channels.values(); }
    // Payload received from the peer and not yet taken by local endpoints.
    quint64 bufferedBytes() const;
    // Receive window granted beyond the channels' initial windows (autotuning), and the round
    // trip it is measured against (0 until measured).
    qint64 grownWindowBytes() const { return m_windowBudget.used(); }
    qint64 roundTripUs() const { return m_windowTuning.roundTripUs; }
    // Bytes queued on the link, not yet taken by the wire.
    qint64 transportBacklog() const;

    // Asks the peer to listen on bindHost:port and open a channel back for each connection (each
    // flow, for UDP). Returns the request id, or 0 when the peer does not take listen requests
    // (or, for UDP, datagram channels).
    quint32 requestListen(const QString &bindHost, quint16 port,
                          ChannelTransport transport = ChannelTransport::Tcp);
    void answerListen(quint32 requestId, quint16 boundPort);
    void refuseListen(quint32 requestId, FailureCode code, const QString &reason);
    // Asks the peer to stop a listener it opened for requestId and reset its connections.
    void cancelListen(quint32 requestId);
    // A hub tells an agent its standing, or a desktop who serves the agent it asked for.
    void sendAgentStatus(AgentState state, const QString &name, const QString &address);
    // A hub answers a desktop that asked for its directory; as many as fit into one message.
    void sendAgentList(const QList<AgentListing> &agents);

    Link *link() const { return m_link; }
    // Gives up the link without ending the session (the caller owns it now). Channels stay open,
    // their endpoints are not read, and messages for the peer wait until attachLink().
    Link *detachLink();
    // Carries on over another link (the session owns it).
    void attachLink(Link *link);

    // Ends the session, telling the peer why.
    void close(const QString &reason);

    // Whether a lost link leaves this session held for a resume rather than ended.
    bool canResume() const { return m_resumable && !m_sessionId.isEmpty(); }
    // Held: the link was lost and the session waits for a resume.
    bool isHeld() const { return m_resumeTimer.isActive(); }
    bool isEnded() const { return m_ended; }
    // Once ended: how many channels were still open and ended with the session.
    int channelsEndedWithSession() const { return m_channelsEndedWithSession; }
    qint64 heldMs() const { return isHeld() ? m_heldSince.elapsed() : 0; }
    // How long no message went either way: at linkLost(), how long the session had been idle
    // when its WebSocket was cut.
    qint64 idleMs() const { return m_age.elapsed() - m_lastActivityMs; }
    // Not secret: names the session in a resume request and in logs.
    QByteArray sessionId() const { return m_sessionId; }
    // Compares in constant time, so the time taken tells nothing about the secret.
    bool ticketMatches(QByteArrayView secret) const;
    // Bytes of messages kept for replay (sent, not yet acknowledged by the peer).
    qint64 replayBytes() const { return m_replayBytes; }
    // Dialer: carries the held session on over a new link (the session owns it).
    void resumeOver(Link *link);
    // Acceptor: takes over the link of a fresh session whose peer asked to resume this one and
    // replays from what the peer received. Returns why not, or an empty string.
    QString resumeFrom(TunnelSession &fresh, quint64 peerReceived);
    // Acceptor: answers a resume request this end cannot serve, and ends this (fresh) session.
    void refuseResume(FailureCode code, const QString &reason);

Q_SIGNALS:
    void ready();
    void closed(const QString &reason);
    void channelOpened(wstunnel::Channel *channel);
    void channelClosed(const wstunnel::ChannelSummary &summary);
    // A channel either end opened could not be opened (refused here, or by the peer).
    void channelOpenFailed(wstunnel::FailureCode code);
    void listenRequested(quint32 requestId, const QString &bindHost, quint16 port,
                         wstunnel::ChannelTransport transport);
    void unlistenRequested(quint32 requestId);
    void listenAnswered(quint32 requestId, bool ok, quint16 boundPort, const QString &reason);
    // From a peer that announced relay (a hub) only.
    void agentStatusReceived(wstunnel::AgentState state, const QString &name,
                             const QString &address);
    // The link was lost; the channels are held until resumed() or the resume timeout.
    void linkLost(const QString &reason);
    void resumed(qint64 downtimeMs, int channels);
    // Acceptor, before ready: the peer asks to resume another session. A receiver hands the link
    // over (resumeFrom) or refuses (refuseResume); unanswered, the request is refused.
    void resumeRequested(const QByteArray &sessionId, const QByteArray &secret, quint64 received);
    // From a peer that announced relay (a hub) only.
    void agentListReceived(const QList<wstunnel::AgentListing> &agents);

private:
    // ChannelHost
    void sendMessage(QByteArray message) override;
    bool canSend() const override;
    qint64 maxPayloadSize() const override;
    bool canSendDatagram() const override;
    qint64 maxDatagramSize() const override;
    void datagramActivity(Channel *channel) override;
    QByteArray takeReceivedMessage(QByteArrayView part) override;
    ReceiveWindowTuner::Context *receiveWindowTuning() override { return &m_windowTuning; }
    void channelFinished(Channel *channel) override;

    // Evicts the least recently used datagram channel when a new one would exceed the limit.
    void makeRoomForDatagramChannel();
    void expireIdleDatagramChannels();
    void scheduleIdleExpiry();
    void connectLink();
    // Whether the negotiated version lets a channel's opener send data before open-ok.
    bool allowsEarlyData() const { return m_version >= protocol::kEarlyDataVersion; }
    void send(QByteArray message);
    void handleMessage(QByteArrayView bytes);
    void handleHello(const Message &m);
    void handleCapabilities(const Message &m);
    void becomeReady();
    void handleOpen(const Message &m);
    void beginOpening(Channel *channel, const QString &host, quint16 port,
                      ChannelTransport transport);
    void scheduleQueuedOpens();
    void openQueued();
    Channel *channelFor(const Message &m, bool &fatal);
    bool isOurs(quint32 id) const;
    void fail(FailureCode code, const QString &reason,
              LinkEnding ending = LinkEnding::ProtocolError);
    void teardown(const QString &reason);
    void onLinkDrained();
    // Whether session messages may go on the link: attached, and not in a resume handshake.
    bool linkLive() const { return m_link && !m_resuming; }
    void onLinkClosed(const QString &reason);
    void hold(const QString &reason);
    void abandonLink(const QString &reason);
    void expireHold();
    void handleResumeHandshake(const Message &m);
    void handleResumeRequest(const Message &m);
    void finishResume();
    bool replayFrom(quint64 peerReceived);
    void trimReplayLog(quint64 acknowledged);
    void noteReceived(qsizetype size);
    void sendAck();
    void issueTicket();

    Link *m_link = nullptr;
    Role m_role;
    SessionLimits m_limits;
    std::shared_ptr<TargetPolicy> m_policy;
    Capabilities m_localCapabilities;
    Capabilities m_peerCapabilities;
    bool m_helloReceived = false;
    bool m_ready = false;
    bool m_ended = false;
    mutable bool m_transportBlocked = false;
    QString m_localName;
    QString m_peerName;
    QString m_peerAddress;
    QString m_endReason;
    quint32 m_peerMaxMessageSize = protocol::kMinMessageSize;
    quint16 m_version = 0; // negotiated in the hello exchange
    QHash<quint32, Channel *> m_channels;
    quint32 m_nextChannelId;
    quint32 m_highestPeerChannelId = 0;
    quint32 m_nextListenId = 1;
    QSet<quint32> m_opening; // opened by the peer, still resolving or connecting
    // Opens from the peer waiting for a place in m_opening, oldest first.
    struct QueuedOpen
    {
        QPointer<Channel> channel;
        QString host;
        quint16 port = 0;
        ChannelTransport transport = ChannelTransport::Tcp;
    };
    QList<QueuedOpen> m_queuedOpens;
    bool m_queuedOpensScheduled = false;
    // Messages for the peer while no link is attached: control messages only, as channels do not
    // read their endpoints then, so at most a few per channel.
    QList<QByteArray> m_outbox;
    QTimer m_helloTimer;
    QElapsedTimer m_age; // also the clock of datagram activity
    RecencyList<Channel *> m_datagramRecency;
    QTimer m_idleTimer; // due when the least recently used datagram channel would expire
    int m_channelsFinished = 0;
    int m_channelsEndedWithSession = 0;
    quint64 m_finishedBytesIn = 0;
    quint64 m_finishedBytesOut = 0;
    // Receive-window autotuning: the session's share of the window budget, and its round trip.
    WindowBudget m_windowBudget;
    ReceiveWindowTuner::Context m_windowTuning;

    // Resume.
    bool m_resumable = false;       // both ends announced resume in version 4 or later
    bool m_resuming = false;        // dialer: resume handshake on a new link
    bool m_resumeRequested = false; // acceptor: a fresh session's resume request awaits an answer
    QByteArray m_sessionId;
    QByteArray m_secret;
    // Replayable messages sent and not acknowledged yet, the first one numbered m_replayStart.
    std::deque<QByteArray> m_replayLog;
    quint64 m_replayStart = 0;
    quint64 m_sentCount = 0;
    qint64 m_replayBytes = 0;
    quint64 m_receivedCount = 0;
    quint64 m_ackedCount = 0;
    qint64 m_bytesSinceAck = 0;
    QTimer m_ackTimer;
    QTimer m_resumeTimer;
    QElapsedTimer m_heldSince;
    qint64 m_lastActivityMs = 0; // on m_age's clock
};

} // namespace wstunnel
