#pragma once

#include "session/TargetPolicy.h"

#include <QObject>
#include <QPointer>

namespace wstunnel {

class Channel;
class RelayEndpoint;
class TunnelSession;

// Joins a channel a peer opened on one session (inbound) to a channel this end opens on another
// session (outbound), both carrying to a pair of RelayEndpoints: a hub's desktop channel to the
// agent's, or an agent's reverse-forward channel to the desktop's. The inbound channel opens
// when the outbound one does, fails with its reason, and either channel's reset resets the
// other, with a reason that names the side that went away. A datagram pair (a relayed UDP flow)
// has no end of stream to pass on: whatever ends one channel (idle expiry, eviction, a reset)
// ends the other.
class ChannelRelay : public QObject
{
    Q_OBJECT

public:
    // The endpoint a relaying target policy gives the channels of this transport its peer opens.
    static RelayEndpoint *createInboundEndpoint(ChannelTransport transport);
    // For TargetPolicy::resolve: context is the inbound channel; opens host:port on `through`
    // (named throughName in reasons, e.g. "agent devbox at 10.0.0.5:41712") and calls done once
    // the relay is set up, or with the reason it cannot be.
    static void open(QObject *context, TunnelSession *through, const QString &throughName,
                     const QString &host, quint16 port, const TargetPolicy::Callback &done);

private:
    ChannelRelay(Channel *inbound, RelayEndpoint *inboundEndpoint, Channel *outbound,
                 const QString &throughName);
    void inboundEnded(const QString &error);
    void outboundEnded(const QString &error);
    // A datagram flow's idle end passes on as an idle end; anything else resets the other channel.
    static void passOnEnd(Channel *other, bool idle, const QString &reason);

    QPointer<Channel> m_inbound;
    QPointer<RelayEndpoint> m_inboundEndpoint;
    QPointer<Channel> m_outbound;
    QString m_throughName;
    QString m_inboundPeer;
    bool m_inboundDone = false;
    bool m_outboundDone = false;
    bool m_datagram = false;
    // Why the agent could not open the target, passed on to the desktop as it is.
    FailureCode m_outboundFailure = FailureCode::Refused;
};

} // namespace wstunnel
