#pragma once

#include "protocol/Message.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPointer>

namespace wstunnel {

class AgentRegistry;
class TunnelSession;

// What wstunnel-remote reports at /metrics: its sessions, their channels by state, the payload
// carried each way, the opens that failed by reason, and for a hub its agents. Counters cover
// the process's life; gauges are read from the live sessions when rendered.
class TunnelMetrics : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // Counts the session and its channels until it closes.
    void watchSession(TunnelSession *session);
    // A hub: its agents by name and standing.
    void watchAgents(const AgentRegistry *registry);

    QByteArray render() const;

    // The label value of an open failure: "not_allowed", "refused", ...
    static QString reasonLabel(FailureCode code);

private:
    QList<QPointer<TunnelSession>> m_sessions;
    QPointer<const AgentRegistry> m_agents;
    quint64 m_sessionsStarted = 0;
    quint64 m_sessionsResumed = 0;
    quint64 m_sessionsLost = 0;
    // Sessions whose link dropped and that have not resumed yet.
    QList<const TunnelSession *> m_held;
    quint64 m_channelsOpened = 0;
    QMap<QString, quint64> m_openFailures;
    // Payload of channels already finished; live channels add theirs when rendered.
    quint64 m_finishedBytesReceived = 0;
    quint64 m_finishedBytesSent = 0;
};

} // namespace wstunnel
