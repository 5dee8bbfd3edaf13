#pragma once

#include "ClientSettings.h"

#include <QNetworkProxy>
#include <QString>
#include <QUrl>

#include <optional>

namespace wstunnel {

// Chooses the HTTP proxy a client reaches its remote through: the one it was given, none, or the
// system's (https_proxy/http_proxy/no_proxy, then Qt's platform settings).
class ProxyResolver
{
public:
    // Parses http://[USER:PASS@]HOST:PORT; user and password may be percent-encoded.
    static std::optional<QNetworkProxy> parse(const QString &text, QString *error);
    // The proxy for settings.url, or QNetworkProxy::NoProxy for a direct connection.
    static QNetworkProxy proxyFor(const ClientSettings &settings);
    // Where the proxy is, for messages: never its credentials.
    static QString describe(const QNetworkProxy &proxy);
    // True when host is excluded by a no_proxy list ("*", names, .suffixes, addresses).
    static bool bypasses(const QString &host, const QString &noProxy);
};

} // namespace wstunnel
