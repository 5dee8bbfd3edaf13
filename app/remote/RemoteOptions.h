#pragma once

#include "hub/HubServer.h"
#include "metrics/MetricsServer.h"
#include "server/AllowList.h"
#include "server/ServerSettings.h"
#include "server/TokenStore.h"
#include "util/LogSetup.h"

#include <QStringList>

#include <optional>

namespace wstunnel {

// Everything wstunnel-remote serve or hub was told by its command line, its --config file and
// WSTUNNEL_TOKEN (the agent role has AgentOptions).
struct RemoteOptions
{
    enum class Role { Serve, Hub };

    Role role = Role::Serve;
    ServerSettings server;
    TokenStore tokens;
    AllowList allowList;
    bool allowListDefaulted = false;
    // Hub: --publish.
    QList<HubServer::Publication> publications;
    // --metrics: where to serve Prometheus metrics; none without it.
    std::optional<MetricsServer::Endpoint> metrics;
    Verbosity verbosity = Verbosity::Normal;

    // Exits the process for --help and --version; returns nullopt with error set otherwise.
    static std::optional<RemoteOptions> parse(const QStringList &arguments, QString *error);
};

} // namespace wstunnel
