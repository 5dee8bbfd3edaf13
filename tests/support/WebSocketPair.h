#pragma once

#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QWebSocket>
#include <QWebSocketServer>

#include <memory>

class QSslSocket;

// A stock QWebSocket client connected to a stock QWebSocketServer on loopback, whose accepted
// socket we know: the server hands it to the WebSocket server as TunnelServer does. Over TLS the
// server presents a self-signed certificate for 127.0.0.1, which the client trusts.
struct WebSocketPair
{
    enum class Security { Plain, Tls };

    std::unique_ptr<QTcpServer> tcpServer;
    QWebSocketServer wsServer{QStringLiteral("test"), QWebSocketServer::NonSecureMode};
    QPointer<QTcpSocket> serverTransport;
    std::unique_ptr<QWebSocket> server;
    QWebSocket client;

    // Connects the client and waits until both ends are open.
    bool open(Security security = Security::Plain);
    // The accepted socket as a TLS socket; null over plain TCP.
    QSslSocket *serverTlsTransport() const;
};
