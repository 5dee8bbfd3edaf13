#pragma once

#include "net/TlsSettings.h"
#include "session/SessionLimits.h"

#include <QHostAddress>
#include <QString>

namespace wstunnel {

struct ServerSettings
{
    QHostAddress address = QHostAddress(QHostAddress::LocalHost);
    quint16 port = 0;
    // Only upgrade requests for this path are served.
    QString path = QStringLiteral("/");
    QString name = QStringLiteral("wstunnel-remote");
    SessionLimits limits;
    // wss when tls.certFile is set; mutual TLS when tls.clientCaFile is set too.
    TlsSettings tls;
    int maxSessions = 64;
    // Time a client has to send its complete upgrade request.
    int upgradeTimeoutMs = 10000;
    // Connections that have not yet sent a complete upgrade request: beyond either cap the
    // oldest of the busiest source is closed, so one address cannot keep others out.
    int maxHalfOpenPerSource = 16;
    int maxHalfOpen = 256;
    // After this many invalid tokens in a row, an address is refused (HTTP 429) for a while.
    int maxTokenFailures = 5;
    int tokenPenaltyMs = 60000;
    // Sessions that lost their WebSocket and wait for a resume, per identity; beyond it the one
    // held longest ends.
    int maxHeldPerIdentity = 16;
};

} // namespace wstunnel
