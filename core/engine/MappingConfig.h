#pragma once

#include "config/ForwardSpec.h"

#include <QString>

namespace wstunnel {

// One row of the mapping table: which port maps where, through which remote, and whether it is
// switched on.
struct MappingConfig
{
    enum class Protocol { Tcp, Udp };

    QString id;
    QString name;
    QString remoteId;
    ForwardSpec::Direction direction = ForwardSpec::Direction::Local;
    Protocol protocol = Protocol::Tcp;
    QString bindHost = QStringLiteral("127.0.0.1");
    quint16 bindPort = 0;
    QString targetHost;
    quint16 targetPort = 0;
    bool enabled = true;

    ForwardSpec toSpec() const;
    QString bindEndpoint() const { return formatEndpoint(bindHost, bindPort); }
    // "SOCKS" for a dynamic mapping, whose clients name their targets.
    QString targetEndpoint() const;
    // Whether the running forward must be rebuilt when this changes into other.
    bool sameForward(const MappingConfig &other) const;
    bool operator==(const MappingConfig &other) const;
    bool operator!=(const MappingConfig &other) const { return !(*this == other); }
};

} // namespace wstunnel
