#pragma once

#include "ConnectionSettings.h"
#include "session/SessionLimits.h"

#include <QByteArray>
#include <QString>

namespace wstunnel {

struct ClientSettings : ConnectionSettings
{
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
};

} // namespace wstunnel
