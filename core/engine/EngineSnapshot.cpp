#include "EngineSnapshot.h"

namespace wstunnel {

const MappingStats *EngineSnapshot::mapping(const QString &id) const
{
    for (const MappingStats &stats : mappings) {
        if (stats.id == id)
            return &stats;
    }
    return nullptr;
}

const RemoteStats *EngineSnapshot::remote(const QString &id) const
{
    for (const RemoteStats &stats : remotes) {
        if (stats.id == id)
            return &stats;
    }
    return nullptr;
}

} // namespace wstunnel
