#include "TunnelMetrics.h"

#include "PrometheusText.h"
#include "hub/AgentRegistry.h"
#include "session/TunnelSession.h"

namespace wstunnel {

QString TunnelMetrics::reasonLabel(FailureCode code)
{
    switch (code) {
    case FailureCode::Refused:
        return QStringLiteral("refused");
    case FailureCode::Unreachable:
        return QStringLiteral("unreachable");
    case FailureCode::NotAllowed:
        return QStringLiteral("not_allowed");
    case FailureCode::TimedOut:
        return QStringLiteral("timed_out");
    case FailureCode::LimitReached:
        return QStringLiteral("limit_reached");
    case FailureCode::ProtocolError:
        return QStringLiteral("protocol_error");
    case FailureCode::IoError:
        return QStringLiteral("io_error");
    case FailureCode::Shutdown:
        return QStringLiteral("shutdown");
    case FailureCode::AddressInUse:
        return QStringLiteral("address_in_use");
    }
    return QStringLiteral("other");
}

void TunnelMetrics::watchSession(TunnelSession *session)
{
    ++m_sessionsStarted;
    m_sessions.removeIf([](const QPointer<TunnelSession> &s) { return s.isNull(); });
    m_sessions.append(session);
    connect(session, &TunnelSession::channelOpened, this, [this] { ++m_channelsOpened; });
    connect(session, &TunnelSession::channelOpenFailed, this,
            [this](FailureCode code) { ++m_openFailures[reasonLabel(code)]; });
    connect(session, &TunnelSession::channelClosed, this, [this](const ChannelSummary &summary) {
        m_finishedBytesReceived += summary.bytesIn;
        m_finishedBytesSent += summary.bytesOut;
    });
    connect(session, &TunnelSession::linkLost, this, [this, session] {
        if (!m_held.contains(session))
            m_held.append(session);
    });
    connect(session, &TunnelSession::resumed, this, [this, session] {
        m_held.removeOne(session);
        ++m_sessionsResumed;
    });
    connect(session, &TunnelSession::closed, this, [this, session] {
        // Ended while held: the hold expired, or the peer started over instead.
        if (m_held.removeOne(session))
            ++m_sessionsLost;
        m_sessions.removeIf(
            [session](const QPointer<TunnelSession> &s) { return s.isNull() || s == session; });
    });
}

void TunnelMetrics::watchAgents(const AgentRegistry *registry)
{
    m_agents = registry;
}

QByteArray TunnelMetrics::render() const
{
    int opening = 0;
    int open = 0;
    quint64 received = m_finishedBytesReceived;
    quint64 sent = m_finishedBytesSent;
    int sessions = 0;
    for (const QPointer<TunnelSession> &session : m_sessions) {
        if (!session)
            continue;
        ++sessions;
        for (const Channel *channel : session->channels()) {
            if (channel->state() == Channel::State::Opening)
                ++opening;
            else if (channel->state() == Channel::State::Open)
                ++open;
            received += channel->bytesIn();
            sent += channel->bytesOut();
        }
    }

    PrometheusText out;
    out.family(QStringLiteral("wstunnel_sessions"), QStringLiteral("gauge"),
               QStringLiteral("Sessions (WebSocket peers) open now."));
    out.sample(quint64(sessions));
    out.family(QStringLiteral("wstunnel_sessions_started_total"), QStringLiteral("counter"),
               QStringLiteral("Sessions started since the process started."));
    out.sample(m_sessionsStarted);
    out.family(QStringLiteral("wstunnel_sessions_resumed_total"), QStringLiteral("counter"),
               QStringLiteral("Sessions carried on over a new WebSocket after theirs dropped."));
    out.sample(m_sessionsResumed);
    out.family(QStringLiteral("wstunnel_sessions_lost_total"), QStringLiteral("counter"),
               QStringLiteral("Sessions whose WebSocket dropped and that were not resumed in "
                              "time."));
    out.sample(m_sessionsLost);
    out.family(QStringLiteral("wstunnel_channels"), QStringLiteral("gauge"),
               QStringLiteral("Channels (TCP connections, UDP flows) by state."));
    out.sample(quint64(opening), {{QStringLiteral("state"), QStringLiteral("opening")}});
    out.sample(quint64(open), {{QStringLiteral("state"), QStringLiteral("open")}});
    out.family(QStringLiteral("wstunnel_channels_opened_total"), QStringLiteral("counter"),
               QStringLiteral("Channels opened, either side opening them."));
    out.sample(m_channelsOpened);
    out.family(QStringLiteral("wstunnel_channel_open_failures_total"), QStringLiteral("counter"),
               QStringLiteral("Channels that could not be opened, by reason."));
    QMap<QString, quint64> failures = m_openFailures;
    // The usual reasons are always there, so that a rate over them starts from 0.
    for (const FailureCode code :
         {FailureCode::NotAllowed, FailureCode::Refused, FailureCode::Unreachable,
          FailureCode::TimedOut, FailureCode::LimitReached})
        failures[reasonLabel(code)];
    for (auto it = failures.cbegin(); it != failures.cend(); ++it)
        out.sample(it.value(), {{QStringLiteral("reason"), it.key()}});
    out.family(QStringLiteral("wstunnel_received_bytes_total"), QStringLiteral("counter"),
               QStringLiteral("Channel payload received from peers through the tunnel."));
    out.sample(received);
    out.family(QStringLiteral("wstunnel_sent_bytes_total"), QStringLiteral("counter"),
               QStringLiteral("Channel payload sent to peers through the tunnel."));
    out.sample(sent);
    if (m_agents) {
        // Per name: how many instances are active (0 or 1) and how many stand by.
        QMap<QString, QPair<int, int>> byName;
        for (const AgentRegistry::Agent &agent : m_agents->agents()) {
            auto &counts = byName[agent.name];
            if (m_agents->active(agent.name) == agent.session)
                ++counts.first;
            else
                ++counts.second;
        }
        out.family(QStringLiteral("wstunnel_hub_agents"), QStringLiteral("gauge"),
                   QStringLiteral("Agent instances registered with this hub, by name and "
                                  "standing."));
        for (auto it = byName.cbegin(); it != byName.cend(); ++it) {
            out.sample(quint64(it.value().first),
                       {{QStringLiteral("name"), it.key()},
                        {QStringLiteral("state"), QStringLiteral("active")}});
            out.sample(quint64(it.value().second),
                       {{QStringLiteral("name"), it.key()},
                        {QStringLiteral("state"), QStringLiteral("standby")}});
        }
    }
    return out.text();
}

} // namespace wstunnel
