#include "ChannelRelay.h"

#include "RelayEndpoint.h"
#include "channel/Channel.h"
#include "config/ForwardSpec.h"
#include "session/TunnelSession.h"

namespace wstunnel {

RelayEndpoint *ChannelRelay::createInboundEndpoint()
{
    return new RelayEndpoint;
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

void ChannelRelay::outboundEnded(const QString &error)
{
    m_outboundDone = true;
    if (error.isEmpty() || !m_inbound || m_inbound->state() == Channel::State::Closed)
        return;
    if (m_inbound->state() == Channel::State::Opening && m_inboundEndpoint) {
        // The inbound channel puts its target in front of the reason itself.
        const QString prefix = m_inbound->target() + QStringLiteral(": ");
        const QString detail = error.startsWith(prefix) ? error.mid(prefix.size()) : error;
        m_inboundEndpoint->reportConnectFailed(m_outboundFailure,
                                               QStringLiteral("%1: %2").arg(m_throughName, detail));
        return;
    }
    m_inbound->abortChannel(QStringLiteral("%1: %2").arg(m_throughName, error));
}

void ChannelRelay::inboundEnded(const QString &error)
{
    m_inboundDone = true;
    if (!error.isEmpty() && m_outbound && m_outbound->state() != Channel::State::Closed)
        m_outbound->abortChannel(
            QStringLiteral("relayed connection from %1 ended: %2").arg(m_inboundPeer, error));
}

} // namespace wstunnel
