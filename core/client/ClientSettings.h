#pragma once

#include "session/SessionLimits.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrl>

namespace wstunnel {

struct ClientSettings
{
    enum class ProxyMode { System, None, Manual };

    QUrl url;
    QByteArray token;
    QString name = QStringLiteral("wstunnel");
    // limits.keepAliveMs is the ping interval (--keepalive) that keeps idle sessions open
    // through proxies.
    SessionLimits limits;
    // Reconnect delays double from the first to the cap.
    int initialBackoffMs = 500;
    int maxBackoffMs = 30000;
    // Time allowed for TCP connect, upgrade and hello together.
    int handshakeTimeoutMs = 15000;

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
};

} // namespace wstunnel
