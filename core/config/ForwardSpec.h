#pragma once

#include "protocol/Message.h"

#include <QHostAddress>
#include <QString>

#include <optional>

namespace wstunnel {

// One -L or -R mapping in OpenSSH's syntax: [BIND:]PORT:HOST:HOSTPORT, IPv6 in brackets; a
// /udp suffix makes it a UDP mapping (/tcp, the default, may be written too). A dynamic forward
// (-D [BIND:]PORT) has no target: it is a SOCKS server whose clients name theirs.
struct ForwardSpec
{
    enum class Direction { Local, Reverse, Dynamic };

    Direction direction = Direction::Local;
    // An address, or kAllInterfaces.
    QString bindHost = QStringLiteral("127.0.0.1");
    quint16 bindPort = 0;
    QString targetHost;
    quint16 targetPort = 0;
    ChannelTransport transport = ChannelTransport::Tcp;

    // BIND '*' or empty: every interface, IPv4 and IPv6 (0.0.0.0 stays IPv4 only).
    static inline const QString kAllInterfaces = QStringLiteral("*");

    static std::optional<ForwardSpec> parse(const QString &text, Direction direction,
                                            QString *error);
    QString bindEndpoint() const;
    // The address to bind, dual-stack for kAllInterfaces; null when bindHost is no address.
    QHostAddress bindAddress() const;
    QString targetEndpoint() const;
    // "/udp" for a UDP mapping, else empty: what readiness lines and logs append to endpoints.
    QString transportSuffix() const;
    QString toString() const;

    bool operator==(const ForwardSpec &other) const;
};

// HOST:PORT with brackets around an IPv6 host.
QString formatEndpoint(const QString &host, quint16 port);
// Parses [HOST:]PORT (IPv6 in brackets); host stays as given when present.
bool parseEndpoint(const QString &text, QString *host, quint16 *port, QString *error);

} // namespace wstunnel
