#pragma once

#include <QString>
#include <QStringList>

namespace wstunnel {

// Who is on the other end of a session, as authentication established it (never the token).
// The server derives each session's target policy from it.
struct Identity
{
    enum class Kind {
        Desktop, // opens channels to targets; serve's allow-list applies
        Agent,   // dials a hub and serves channels under a name
    };

    // How logs name the peer's credential: "token 2 of /etc/wstunnel/tokens", "WSTUNNEL_TOKEN".
    QString name;
    Kind kind = Kind::Desktop;
    // For a hub: the agent names this identity may reach (patterns); empty means all.
    QStringList agents;
    // For a hub: a desktop that asked for the list of agents it may reach, not for one of them.
    bool listsAgents = false;
};

} // namespace wstunnel
