#include "SocketAddress.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace wstunnel {

SocketAddress SocketAddress::from(const QHostAddress &address, quint16 port)
{
    SocketAddress result;
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(&result.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        result.length = sizeof(sockaddr_in);
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&result.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        memcpy(&in6->sin6_addr, bytes.c, sizeof bytes.c);
        in6->sin6_scope_id = address.scopeId().toUInt();
        result.length = sizeof(sockaddr_in6);
    }
    return result;
}

quint16 SocketAddress::port() const
{
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
    return 0;
}

QString SocketAddress::toString() const
{
    QHostAddress address(data());
    bool isV4 = false;
    const QHostAddress v4(address.toIPv4Address(&isV4));
    if (isV4)
        address = v4;
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return QStringLiteral("[%1]:%2").arg(address.toString(), QString::number(port()));
    return QStringLiteral("%1:%2").arg(address.toString(), QString::number(port()));
}

QByteArray SocketAddress::key() const
{
    QByteArray key;
    const quint16 portNumber = port();
    key.append(char(storage.ss_family));
    key.append(reinterpret_cast<const char *>(&portNumber), sizeof portNumber);
    if (storage.ss_family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&storage);
        key.append(reinterpret_cast<const char *>(&in->sin_addr), sizeof in->sin_addr);
    } else if (storage.ss_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&storage);
        key.append(reinterpret_cast<const char *>(&in6->sin6_addr), sizeof in6->sin6_addr);
        key.append(reinterpret_cast<const char *>(&in6->sin6_scope_id), sizeof in6->sin6_scope_id);
    }
    return key;
}

} // namespace wstunnel
