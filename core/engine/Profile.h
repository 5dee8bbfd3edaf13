#pragma once

#include "MappingConfig.h"
#include "RemoteConfig.h"

#include <QList>

namespace wstunnel {

// Everything the desktop app persists about tunnels: the remotes and the mappings, in the order
// the user arranged them.
struct Profile
{
    QList<RemoteConfig> remotes;
    QList<MappingConfig> mappings;

    // The built-in "This computer" remote a first run starts with.
    static Profile firstRun();
    static QString newId();

    int remoteIndex(const QString &id) const;
    int mappingIndex(const QString &id) const;
    bool operator==(const Profile &other) const;
    bool operator!=(const Profile &other) const { return !(*this == other); }
};

} // namespace wstunnel
