#pragma once

#include "client/TunnelClient.h"
#include "forward/DatagramListener.h"
#include "server/TunnelServer.h"

#include <QObject>

#include <functional>
#include <memory>

// A wstunnel-remote and a desktop client in this process, connected over loopback.
class TunnelFixture
{
public:
    static constexpr const char *kToken = "fixture-token";

    explicit TunnelFixture(wstunnel::SessionLimits limits = {}, const QStringList &allowRules = {});

    // Starts both ends; true once the client's session is ready.
    bool start();
    // The same, with the client dialing the port relay returns for the server's port (a relay
    // the test made, such as a DelayRelay for a long path).
    bool start(const std::function<quint16(quint16 serverPort)> &relay);
    // Binds a local forward to 127.0.0.1:targetPort on the far side; returns the local port.
    quint16 forwardTo(quint16 targetPort, const QString &targetHost = QStringLiteral("127.0.0.1"));
    // A UDP forward (-L BIND:0:HOST:PORT/udp); returns its listener, or nullptr.
    wstunnel::DatagramListener *
    forwardDatagramsTo(quint16 targetPort, const QString &targetHost = QStringLiteral("127.0.0.1"),
                       const QString &bindHost = QStringLiteral("127.0.0.1"));

    wstunnel::TunnelServer &server() { return *m_server; }
    wstunnel::TunnelClient &client() { return *m_client; }
    wstunnel::TunnelSession *serverSession() const;
    wstunnel::TunnelSession *clientSession() const;

private:
    wstunnel::SessionLimits m_limits;
    std::unique_ptr<wstunnel::TunnelServer> m_server;
    std::unique_ptr<wstunnel::TunnelClient> m_client;
};
