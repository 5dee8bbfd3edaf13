#pragma once

#include "session/SessionLimits.h"

#include <QByteArray>
#include <QString>
#include <QUrl>

namespace wstunnel {

struct ClientSettings
{
    QUrl url;
    QByteArray token;
    QString name = QStringLiteral("wstunnel");
    SessionLimits limits;
    // Reconnect delays double from the first to the cap.
    int initialBackoffMs = 500;
    int maxBackoffMs = 30000;
    // Time allowed for TCP connect, upgrade and hello together.
    int handshakeTimeoutMs = 15000;
};

} // namespace wstunnel
