#pragma once

#include "client/ClientSettings.h"
#include "client/ConnectionSettings.h"

#include <QString>

namespace wstunnel {

// A remote as the user defines it: a name and how to reach it (url is ignored for the built-in
// one). The token is not part of it: it lives in the secret store under the remote's id, so that
// profiles can be shared without leaking credentials.
struct RemoteConfig : ConnectionSettings
{
    QString id;
    QString name;
    // "This computer": a remote engine inside the app on loopback; url is ignored.
    bool builtIn = false;
    // When url is a hub: the agent to reach through it, as `wstunnel --agent` (empty: url is a
    // remote that serves channels itself).
    QString agent;

    // Client settings for this remote, everything but the token.
    ClientSettings toClientSettings() const;
    bool operator==(const RemoteConfig &other) const;
    bool operator!=(const RemoteConfig &other) const { return !(*this == other); }
};

} // namespace wstunnel
