#include "AgentRegistry.h"

#include "session/TunnelSession.h"

namespace wstunnel {

AgentState AgentRegistry::add(const QString &name, TunnelSession *session)
{
    QList<Agent> &agents = m_agents[name];
    agents.append(Agent{name, session, session->peerAddress(), QDateTime::currentDateTimeUtc()});
    if (agents.size() > 1)
        return AgentState::Standby;
    Q_EMIT activeChanged(name, QString());
    return AgentState::Active;
}

void AgentRegistry::remove(TunnelSession *session)
{
    m_routes.removeIf([session](const auto &entry) { return entry.key().agent == session; });
    for (auto it = m_agents.begin(); it != m_agents.end(); ++it) {
        QList<Agent> &agents = it.value();
        for (qsizetype i = 0; i < agents.size(); ++i) {
            if (agents.at(i).session != session)
                continue;
            const QString name = it.key();
            const QString address = agents.at(i).address;
            agents.removeAt(i);
            if (agents.isEmpty())
                m_agents.erase(it);
            if (i == 0)
                Q_EMIT activeChanged(name, address);
            return;
        }
    }
}

bool AgentRegistry::demote(TunnelSession *session)
{
    for (auto it = m_agents.begin(); it != m_agents.end(); ++it) {
        QList<Agent> &agents = it.value();
        if (agents.size() < 2 || agents.constFirst().session != session)
            continue;
        const QString address = agents.constFirst().address;
        agents.append(agents.takeFirst());
        Q_EMIT activeChanged(it.key(), address);
        return true;
    }
    return false;
}

TunnelSession *AgentRegistry::active(const QString &name) const
{
    const auto it = m_agents.constFind(name);
    return it == m_agents.cend() ? nullptr : it->constFirst().session.data();
}

QList<AgentRegistry::Agent> AgentRegistry::agents() const
{
    QList<Agent> all;
    for (const QList<Agent> &agents : m_agents)
        all.append(agents);
    return all;
}

QString AgentRegistry::nameOf(const TunnelSession *session) const
{
    for (const QList<Agent> &agents : m_agents) {
        for (const Agent &agent : agents) {
            if (agent.session == session)
                return agent.name;
        }
    }
    return QString();
}

void AgentRegistry::addRoute(TunnelSession *agent, const QString &bindHost, quint16 agentPort,
                             TunnelSession *desktop, quint16 desktopPort)
{
    m_routes.insert(RouteKey{agent, bindHost, agentPort}, Route{desktop, desktopPort});
}

void AgentRegistry::removeRoute(TunnelSession *agent, const QString &bindHost, quint16 agentPort)
{
    m_routes.remove(RouteKey{agent, bindHost, agentPort});
}

AgentRegistry::Route AgentRegistry::route(TunnelSession *agent, const QString &bindHost,
                                          quint16 agentPort) const
{
    return m_routes.value(RouteKey{agent, bindHost, agentPort});
}

} // namespace wstunnel
