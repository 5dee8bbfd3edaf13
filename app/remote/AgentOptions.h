#pragma once

#include "client/ClientSettings.h"
#include "metrics/MetricsServer.h"
#include "server/AllowList.h"
#include "util/LogSetup.h"

#include <QList>
#include <QStringList>

#include <optional>

namespace wstunnel {

// What `wstunnel-remote agent` was told by its command line and WSTUNNEL_TOKEN.
struct AgentOptions
{
    QString name;
    // One per --hub: the agent registers with each.
    QList<ClientSettings> hubs;
    AllowList allowList;
    bool allowListDefaulted = false;
    // --metrics: where to serve Prometheus metrics; none without it.
    std::optional<MetricsServer::Endpoint> metrics;
    Verbosity verbosity = Verbosity::Normal;

    // arguments start with the program and the role. Exits the process for --help and --version;
    // returns nullopt with error set otherwise.
    static std::optional<AgentOptions> parse(const QStringList &arguments, QString *error);
};

} // namespace wstunnel
