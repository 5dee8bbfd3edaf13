#pragma once

#include "session/TargetPolicy.h"

#include <QList>
#include <QObject>
#include <QPointer>

#include <memory>

namespace wstunnel {

class AgentRegistry;
class TunnelSession;

// A hub's side of one desktop session, for the agent name the desktop asked for. As the
// session's target policy it relays every channel the desktop opens to the active agent of that
// name; it passes the desktop's listen requests on to that agent, and again to the next active
// one after a failover; and it tells the desktop who serves the name whenever that changes.
class DesktopRelay : public QObject, public TargetPolicy
{
    Q_OBJECT

public:
    // Becomes a child of session and serves it for as long as it lives.
    DesktopRelay(TunnelSession *session, const QString &agentName, AgentRegistry *registry);

    // What to give the session as its target policy: this object, which the session outlives
    // never.
    std::shared_ptr<TargetPolicy> policy();

    ChannelEndpoint *createEndpoint(ChannelTransport transport) override;
    void resolve(const QString &host, quint16 port, ChannelTransport transport, QObject *context,
                 Callback done) override;

private:
    // A listen request of the desktop, as passed on to an agent.
    struct Listen
    {
        quint32 desktopRequestId = 0;
        QString bindHost;
        quint16 requestedPort = 0;
        ChannelTransport transport = ChannelTransport::Tcp;
        bool answered = false;   // the desktop has its answer
        quint16 desktopPort = 0; // the port the desktop was told
        QPointer<TunnelSession> agent;
        quint32 agentRequestId = 0;
        quint16 agentPort = 0; // the port that agent bound
    };

    void announce();
    void useAgent(TunnelSession *agent);
    // False when the desktop was refused at once and the request is to be forgotten.
    bool requestOnAgent(Listen &listen);
    void dropFromAgent(Listen &listen);
    void onListenRequested(quint32 requestId, const QString &bindHost, quint16 port,
                           ChannelTransport transport);
    void onUnlistenRequested(quint32 requestId);
    void onAgentAnswered(quint32 agentRequestId, bool ok, quint16 port, const QString &reason);
    QString describe(const TunnelSession *agent) const;

    TunnelSession *m_session;
    QString m_agentName;
    AgentRegistry *m_registry;
    QPointer<TunnelSession> m_agent; // the active agent the listen requests went to
    QList<Listen> m_listens;
};

} // namespace wstunnel
