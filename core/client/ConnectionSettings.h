#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrl>

namespace wstunnel {

// Where a remote is and how to reach it: TLS trust, client certificate, HTTP proxy and extra
// headers. The desktop's remotes (RemoteConfig) and the client's settings (ClientSettings) both
// extend it, so that a remote becomes client settings without copying field by field.
struct ConnectionSettings
{
    enum class ProxyMode { System, None, Manual };

    QUrl url;
    // wss: trust these CAs (PEM) instead of the system's; optionally pin the server's public key
    // (base64 SHA-256 of its SubjectPublicKeyInfo) or trust one certificate by its SHA-256
    // fingerprint (hex), as accepted by the user.
    QString caFile;
    QByteArray pinSha256;
    QByteArray trustedCertificateSha256;
    // Mutual TLS: the certificate (chain) and key this client offers, PEM.
    QString clientCertFile;
    QString clientKeyFile;
    // System: system settings and https_proxy/http_proxy/no_proxy; Manual: proxyUrl,
    // http://[USER:PASS@]HOST:PORT.
    ProxyMode proxyMode = ProxyMode::System;
    QUrl proxyUrl;
    // Extra headers on the upgrade request, for gateways that want them.
    QList<QPair<QByteArray, QByteArray>> headers;

    bool operator==(const ConnectionSettings &other) const
    {
        return url == other.url && caFile == other.caFile && pinSha256 == other.pinSha256 &&
               trustedCertificateSha256 == other.trustedCertificateSha256 &&
               clientCertFile == other.clientCertFile && clientKeyFile == other.clientKeyFile &&
               proxyMode == other.proxyMode && proxyUrl == other.proxyUrl &&
               headers == other.headers;
    }
};

} // namespace wstunnel
