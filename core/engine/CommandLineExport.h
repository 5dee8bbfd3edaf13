#pragma once

#include "MappingConfig.h"
#include "RemoteConfig.h"

#include <QString>
#include <QStringList>

namespace wstunnel {

// A mapping as the `wstunnel --headless` command line that runs it, for a script or a server
// without the desktop app. The token never goes on the command line (other users can read it
// there): the line reads it from tokenFile, and WSTUNNEL_TOKEN works instead when tokenFile is
// empty. A proxy's password is left out for the same reason.
class CommandLineExport
{
public:
    static constexpr const char *kDefaultTokenFile = "~/.wstunnel-token";

    // Empty for the built-in remote, which only exists inside the app.
    static QString forMapping(const MappingConfig &mapping, const RemoteConfig &remote,
                              const QString &tokenFile = QString::fromLatin1(kDefaultTokenFile));

private:
    static QString quoted(const QString &argument);
};

} // namespace wstunnel
