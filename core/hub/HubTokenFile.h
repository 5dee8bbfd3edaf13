#pragma once

#include "server/Identity.h"

#include <QString>

namespace wstunnel {

class TokenStore;

// The token files of a hub. A desktop token line is `TOKEN [AGENT-PATTERN...]`: the agents that
// token may reach, all without patterns. An agent token line is `TOKEN NAME`: the one name that
// token may register, or '*' for any. Blank lines and lines starting with '#' are ignored.
class HubTokenFile
{
public:
    // Adds the file's tokens to store. A token already in store is an error: a token proves one
    // identity, so desktops and agents need tokens of their own.
    static bool load(const QString &path, Identity::Kind kind, TokenStore *store, QString *error);
};

} // namespace wstunnel
