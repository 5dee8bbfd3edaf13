#include "AgentRegistry.h"

#include "session/TunnelSession.h"

namespace wstunnel {

namespace {

// Where an instance that is not demoted goes: behind the others that are not.
qsizetype placeFor(const QList<AgentRegistry::Agent> &agents)
{
    qsizetype place = 0;
    while (place < agents.size() && !agents.at(place).demoted)
        ++place;
    return place;
}

} // namespace

AgentState AgentRegistry::add(const QString &name, TunnelSession *session)
{
    QList<Agent> &agents = m_agents[name];
    const qsizetype place = placeFor(agents);
    agents.insert(place,
                  Agent{name, session, session->peerAddress(), QDateTime::currentDateTimeUtc()});
    if (place > 0)
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
            const bool wasActive = i == 0 && !agents.at(i).demoted;
            agents.removeAt(i);
            if (agents.isEmpty())
                m_agents.erase(it);
            if (wasActive)
                Q_EMIT activeChanged(name, address);
            return;
        }
    }
}

bool AgentRegistry::demote(TunnelSession *session)
{
    for (auto it = m_agents.begin(); it != m_agents.end(); ++it) {
        QList<Agent> &agents = it.value();
        if (agents.size() < 2 || agents.constFirst().session != session ||
            agents.constFirst().demoted || agents.at(1).demoted)
            continue;
        const QString address = agents.constFirst().address;
        agents.append(agents.takeFirst());
        agents.last().demoted = true;
        Q_EMIT activeChanged(it.key(), address);
        return true;
    }
    return false;
}

bool AgentRegistry::resumed(TunnelSession *session)
{
    for (auto it = m_agents.begin(); it != m_agents.end(); ++it) {
        QList<Agent> &agents = it.value();
        for (qsizetype i = 0; i < agents.size(); ++i) {
            if (agents.at(i).session != session)
                continue;
            if (!agents.at(i).demoted)
                return false;
            Agent agent = agents.takeAt(i);
            agent.demoted = false;
            const qsizetype place = placeFor(agents);
            agents.insert(place, agent);
            if (place > 0)
                return false;
            Q_EMIT activeChanged(it.key(), QString());
            return true;
        }
    }
    return false;
}

bool AgentRegistry::isDemoted(const TunnelSession *session) const
{
    for (const QList<Agent> &agents : m_agents) {
        for (const Agent &agent : agents) {
            if (agent.session == session)
                return agent.demoted;
        }
    }
    return false;
}

TunnelSession *AgentRegistry::active(const QString &name) const
{
    const auto it = m_agents.constFind(name);
    return it == m_agents.cend() || it->constFirst().demoted ? nullptr
                                                             : it->constFirst().session.data();
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
                             ChannelTransport transport, TunnelSession *desktop,
                             quint16 desktopPort)
{
    m_routes.insert(RouteKey{agent, bindHost, agentPort, transport}, Route{desktop, desktopPort});
}

void AgentRegistry::removeRoute(TunnelSession *agent, const QString &bindHost, quint16 agentPort,
                                ChannelTransport transport)
{
    m_routes.remove(RouteKey{agent, bindHost, agentPort, transport});
}

AgentRegistry::Route AgentRegistry::route(TunnelSession *agent, const QString &bindHost,
                                          quint16 agentPort, ChannelTransport transport) const
{
    return m_routes.value(RouteKey{agent, bindHost, agentPort, transport});
}

} // namespace wstunnel
