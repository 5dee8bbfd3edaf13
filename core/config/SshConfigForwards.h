#pragma once

#include "ForwardSpec.h"

#include <QList>
#include <QString>

namespace wstunnel {

// The LocalForward, RemoteForward and DynamicForward lines of an OpenSSH client configuration
// (ssh_config(5)),
// read so that they can become mappings. Each forward keeps the Host (or Match) block it is in;
// lines WSTunnel cannot carry are listed with why, never silently dropped.
struct SshConfigForwards
{
    struct Forward
    {
        QString host; // the patterns of its Host line, empty before any Host line
        ForwardSpec spec;
        int line = 0;
    };

    enum class SkipReason {
        ReverseSocks, // RemoteForward with one argument: a SOCKS proxy on the far side
        UnixSocket,   // a forward to or from a Unix domain socket path
        Malformed,    // not [BIND:]PORT HOST:HOSTPORT, nor [BIND:]PORT for DynamicForward
    };

    struct Skipped
    {
        int line = 0;
        QString text; // the line as written, trimmed
        SkipReason reason = SkipReason::Malformed;
    };

    QList<Forward> forwards;
    QList<Skipped> skipped;

    static SshConfigForwards parse(const QString &text);
};

} // namespace wstunnel
