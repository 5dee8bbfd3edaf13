#include "ChannelRelay.h"

#include "RelayEndpoint.h"
#include "channel/Channel.h"
#include "config/ForwardSpec.h"
#include "session/TunnelSession.h"

namespace wstunnel {

namespace {
// How a relayed flow's idle end is told on: the end of a flow, not an error.
const QString kFlowIdle = QStringLiteral("the UDP flow went idle");
} // namespace

RelayEndpoint *ChannelRelay::createInboundEndpoint(ChannelTransport transport)
{
    return new RelayEndpoint(transport);
}

void ChannelRelay::open(QObject *context, TunnelSession *through, const QString &throughName,
                        const QString &host, quint16 port, const TargetPolicy::Callback &done)
{
    auto *inbound = qobject_cast<Channel *>(context);
    // The channel owns its endpoint; a relaying policy made it a RelayEndpoint.
    auto *endpoint =
        inbound ? inbound->findChild<RelayEndpoint *>(QString(), Qt::FindDirectChildrenOnly)
                : nullptr;
    if (!endpoint) {
        done(TargetResolution{
            {}, port, FailureCode::NotAllowed, QStringLiteral("this channel cannot be relayed")});
        return;
    }
    // An older agent announces no datagram channels; it would refuse the open with less to say.
    if (endpoint->transport() == ChannelTransport::Udp &&
        !through->peerCapabilities().testFlag(Capability::DatagramChannels)) {
        done(TargetResolution{{},
                              port,
                              FailureCode::NotAllowed,
                              QStringLiteral("%1 does not carry UDP").arg(throughName)});
        return;
    }
    Channel *outbound = through->openChannel(endpoint->createMate(inbound->peer()), host, port);
    if (!outbound) {
        done(TargetResolution{{},
                              port,
                              FailureCode::LimitReached,
                              QStringLiteral("%1 takes no more channels now").arg(throughName)});
        return;
    }
    new ChannelRelay(inbound, endpoint, outbound, throughName);
    // The far side resolves the name; any address here only says the relay is under way.
    done(TargetResolution{
        {QHostAddress(QHostAddress::LocalHost)}, port, FailureCode::Refused, QString()});
}

ChannelRelay::ChannelRelay(Channel *inbound, RelayEndpoint *inboundEndpoint, Channel *outbound,
                           const QString &throughName)
    // Once the inbound channel is gone, an outbound one still open finishes on its own: what it
    // has yet to read, and its end of stream, wait in the endpoints' shared pipe.
    : QObject(inbound)
    , m_inbound(inbound)
    , m_inboundEndpoint(inboundEndpoint)
    , m_outbound(outbound)
    , m_throughName(throughName)
    , m_inboundPeer(inbound->peer())
    , m_datagram(inbound->isDatagram())
{
    connect(outbound, &Channel::opened, this, [this] {
        if (m_inboundEndpoint)
            m_inboundEndpoint->reportConnected();
    });
    connect(outbound, &Channel::openFailed, this,
            [this](FailureCode code) { m_outboundFailure = code; });
    connect(outbound, &Channel::finished, this,
            [this](const ChannelSummary &summary) { outboundEnded(summary.error); });
    connect(outbound, &QObject::destroyed, this, [this] {
        if (!m_outboundDone)
            outboundEnded(QStringLiteral("session ended"));
    });
    connect(inbound, &Channel::finished, this,
            [this](const ChannelSummary &summary) { inboundEnded(summary.error); });
    connect(inbound, &QObject::destroyed, this, [this] {
        if (!m_inboundDone)
            inboundEnded(QStringLiteral("session ended"));
    });
}

// An orderly end of a stream channel passes on as its fin, through the pipe; a datagram channel
// ends in order only by going idle (an empty error), which the other channel is told as such.
void ChannelRelay::outboundEnded(const QString &error)
{
    m_outboundDone = true;
    if ((error.isEmpty() && !m_datagram) || !m_inbound ||
        m_inbound->state() == Channel::State::Closed)
        return;
    const QString detail = error.isEmpty() ? kFlowIdle : error;
    if (m_inbound->state() == Channel::State::Opening && m_inboundEndpoint) {
        // The inbound channel puts its target in front of the reason itself.
        const QString prefix = m_inbound->target() + QStringLiteral(": ");
        const QString reason = detail.startsWith(prefix) ? detail.mid(prefix.size()) : detail;
        m_inboundEndpoint->reportConnectFailed(error.isEmpty() ? FailureCode::TimedOut
                                                               : m_outboundFailure,
                                               QStringLiteral("%1: %2").arg(m_throughName, reason));
        return;
    }
    passOnEnd(m_inbound, error.isEmpty(), QStringLiteral("%1: %2").arg(m_throughName, detail));
}

void ChannelRelay::inboundEnded(const QString &error)
{
    m_inboundDone = true;
    if ((error.isEmpty() && !m_datagram) || !m_outbound ||
        m_outbound->state() == Channel::State::Closed)
        return;
    passOnEnd(m_outbound, error.isEmpty(),
              QStringLiteral("relayed connection from %1 ended: %2")
                  .arg(m_inboundPeer, error.isEmpty() ? kFlowIdle : error));
}

void ChannelRelay::passOnEnd(Channel *other, bool idle, const QString &reason)
{
    if (idle)
        other->endFlow(FailureCode::TimedOut, reason);
    else
        other->abortChannel(reason);
}

} // namespace wstunnel
