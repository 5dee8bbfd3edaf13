#pragma once

#include "server/AllowList.h"
#include "server/ServerSettings.h"
#include "server/TokenStore.h"
#include "util/LogSetup.h"

#include <QStringList>

#include <optional>

namespace wstunnel {

// Everything wstunnel-remote was told by its command line, its --config file and WSTUNNEL_TOKEN.
struct RemoteOptions
{
    ServerSettings server;
    TokenStore tokens;
    AllowList allowList;
    bool allowListDefaulted = false;
    Verbosity verbosity = Verbosity::Normal;

    // Exits the process for --help and --version; returns nullopt with error set otherwise.
    static std::optional<RemoteOptions> parse(const QStringList &arguments, QString *error);
};

} // namespace wstunnel
