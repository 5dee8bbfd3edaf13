#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QString>

#include <sys/socket.h>

namespace wstunnel {

// A native socket address (IPv4 or IPv6) as the datagram code passes it to the kernel and back.
struct SocketAddress
{
    sockaddr_storage storage{};
    socklen_t length = 0;

    static SocketAddress from(const QHostAddress &address, quint16 port);

    const sockaddr *data() const { return reinterpret_cast<const sockaddr *>(&storage); }
    int family() const { return storage.ss_family; }
    quint16 port() const;
    // ADDRESS:PORT, IPv6 in brackets, IPv4-mapped IPv6 shown as IPv4.
    QString toString() const;
    // Family, port and address bytes: equal for the same source, whatever the padding.
    QByteArray key() const;
};

} // namespace wstunnel
