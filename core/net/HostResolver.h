#pragma once

#include <QHostAddress>
#include <QList>
#include <QString>

#include <functional>

class QObject;

namespace wstunnel {

// Turns a host name or address literal into addresses without blocking; literals never touch DNS.
class HostResolver
{
public:
    using Callback =
        std::function<void(const QList<QHostAddress> &addresses, const QString &error)>;

    static void resolve(const QString &host, QObject *context, Callback done);
    // The address a literal names (brackets allowed around IPv6), or a null address.
    static QHostAddress parseLiteral(const QString &host);
};

} // namespace wstunnel
