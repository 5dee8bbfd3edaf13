#pragma once

#include "protocol/Message.h"

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>

namespace wstunnel {

class TunnelSession;

// The agents connected to one hub, by name, in the order they registered: the first of a name is
// active and gets its channels, the others are standby. An active agent that lost its link while
// a standby was there was demoted: it stays behind the others and is never picked as active while
// it is held; once it resumes it is a standby like the others. Besides, the routes of the reverse
// forwards agents listen for on behalf of desktops. A hub shares none of this with other hubs;
// agents register with each.
class AgentRegistry : public QObject
{
    Q_OBJECT

public:
    struct Agent
    {
        QString name;
        QPointer<TunnelSession> session;
        QString address;
        QDateTime since;
        bool demoted = false; // held, and behind the others until it resumes
    };
    // Where a channel an agent opens for a reverse forward goes: to this desktop session, as a
    // channel to the bind host and the port the desktop was told.
    struct Route
    {
        QPointer<TunnelSession> desktop;
        quint16 desktopPort = 0;
    };

    using QObject::QObject;

    // Adds a ready agent session; returns its standing.
    AgentState add(const QString &name, TunnelSession *session);
    // Removes an agent session; when it was active, the next of its name is now.
    void remove(TunnelSession *session);
    // Moves the active session of its name behind the standbys, so the first standby becomes
    // active; false (nothing changed) when session is not active or has no standby.
    bool demote(TunnelSession *session);
    // A demoted session resumed: it is a standby again, or the active one when no other is
    // (returns true then).
    bool resumed(TunnelSession *session);
    bool isDemoted(const TunnelSession *session) const;
    // The active session of name: none while every instance is demoted.
    TunnelSession *active(const QString &name) const;
    // The agents of every name, the active one (if any) first within a name, demoted ones last.
    QList<Agent> agents() const;
    // The name a registered session serves, or an empty string.
    QString nameOf(const TunnelSession *session) const;

    // A TCP and a UDP listener may share a port number; each has its own route.
    void addRoute(TunnelSession *agent, const QString &bindHost, quint16 agentPort,
                  ChannelTransport transport, TunnelSession *desktop, quint16 desktopPort);
    void removeRoute(TunnelSession *agent, const QString &bindHost, quint16 agentPort,
                     ChannelTransport transport);
    Route route(TunnelSession *agent, const QString &bindHost, quint16 agentPort,
                ChannelTransport transport) const;

Q_SIGNALS:
    // Another session is now active for name, or none (active() is nullptr). previousAddress is
    // where the one before it was.
    void activeChanged(const QString &name, const QString &previousAddress);

private:
    struct RouteKey
    {
        const TunnelSession *agent;
        QString bindHost;
        quint16 agentPort;
        ChannelTransport transport;
        bool operator==(const RouteKey &other) const
        {
            return agent == other.agent && bindHost == other.bindHost &&
                   agentPort == other.agentPort && transport == other.transport;
        }
    };
    friend size_t qHash(const RouteKey &key, size_t seed)
    {
        return qHashMulti(seed, key.agent, key.bindHost, key.agentPort, int(key.transport));
    }

    QHash<QString, QList<Agent>> m_agents;
    QHash<RouteKey, Route> m_routes;
};

} // namespace wstunnel
