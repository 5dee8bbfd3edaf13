#pragma once

#include "session/TargetPolicy.h"

namespace wstunnel {

class AgentRegistry;
class TunnelSession;

// The target policy of an agent's session on a hub. An agent opens channels only for the reverse
// forwards it listens for on behalf of desktops; each goes, through a relay, to the desktop whose
// listen request the agent's listener answers (AgentRegistry::route).
class ReverseRoutePolicy final : public TargetPolicy
{
public:
    ReverseRoutePolicy(AgentRegistry *registry, TunnelSession *agent, const QString &agentName);

    ChannelEndpoint *createEndpoint(ChannelTransport transport) override;
    void resolve(const QString &host, quint16 port, ChannelTransport transport, QObject *context,
                 Callback done) override;

private:
    AgentRegistry *m_registry;
    TunnelSession *m_agent; // owns this policy
    QString m_agentName;
};

} // namespace wstunnel
