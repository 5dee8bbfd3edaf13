#pragma once

#include "client/ClientSettings.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrl>

namespace wstunnel {

// A remote as the user defines it. The token is not part of it: it lives in the secret store
// under the remote's id, so that profiles can be shared without leaking credentials.
struct RemoteConfig
{
    QString id;
    QString name;
    QUrl url;
    // "This computer": a remote engine inside the app on loopback; url is ignored.
    bool builtIn = false;

    QString caFile;
    QByteArray pinSha256;
    QByteArray trustedCertificateSha256;
    QString clientCertFile;
    QString clientKeyFile;
    ClientSettings::ProxyMode proxyMode = ClientSettings::ProxyMode::System;
    QUrl proxyUrl;
    QList<QPair<QByteArray, QByteArray>> headers;

    // Client settings for this remote, everything but url and token.
    ClientSettings toClientSettings() const;
    bool operator==(const RemoteConfig &other) const;
    bool operator!=(const RemoteConfig &other) const { return !(*this == other); }
};

} // namespace wstunnel
