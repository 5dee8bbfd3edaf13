#pragma once

#include "client/ClientSettings.h"
#include "config/ForwardSpec.h"
#include "util/LogSetup.h"

#include <QList>
#include <QStringList>

#include <optional>

namespace wstunnel {

// What `wstunnel --headless` was told by its command line and WSTUNNEL_TOKEN.
struct HeadlessOptions
{
    bool headless = false;
    // --headless --profile FILE: run a profile saved by the desktop app instead of -L/-R.
    QString profilePath;
    // GUI: start with the window hidden in the tray.
    bool minimized = false;
    // --list-agents: print the agents the hub at --remote lets this token reach, then exit.
    bool listAgents = false;
    ClientSettings client;
    // --agent: the agent a hub relays to, when --remote is a hub.
    QString agent;
    QList<ForwardSpec> forwards;
    // --stdio HOST:PORT: standard input and output joined to one channel to HOST:PORT.
    QString stdioHost;
    quint16 stdioPort = 0;
    bool stdio() const { return stdioPort != 0; }
    Verbosity verbosity = Verbosity::Normal;

    // Exits the process for --help and --version; returns nullopt with error set otherwise.
    static std::optional<HeadlessOptions> parse(const QStringList &arguments, QString *error);
};

} // namespace wstunnel
