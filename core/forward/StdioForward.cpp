#include "StdioForward.h"

#include "channel/ChannelEndpoint.h"
#include "session/TunnelSession.h"

#include <utility>

namespace wstunnel {

StdioForward::StdioForward(ChannelEndpoint *endpoint, const QString &host, quint16 port,
                           QObject *parent)
    : QObject(parent)
    , m_endpoint(endpoint)
    , m_host(host)
    , m_port(port)
{
    m_endpoint->setParent(this);
    // Nothing is read before the channel can carry it.
    m_endpoint->setReadEnabled(false);
}

void StdioForward::setSession(TunnelSession *session)
{
    if (m_channel || !m_endpoint || !session || !session->isReady())
        return;
    ChannelEndpoint *endpoint = std::exchange(m_endpoint, nullptr);
    m_channel = session->openChannel(endpoint, m_host, m_port);
    if (!m_channel) {
        Q_EMIT finished(QStringLiteral("the remote takes no more channels"));
        return;
    }
    connect(m_channel, &Channel::opened, this, [this] { m_open = true; });
    connect(m_channel, &Channel::finished, this,
            [this](const ChannelSummary &summary) { Q_EMIT finished(summary.error); });
}

} // namespace wstunnel
