#pragma once

#include "Link.h"

#include <QElapsedTimer>
#include <QList>
#include <QPointer>
#include <QTimer>

class QAbstractSocket;
class QWebSocket;

namespace wstunnel {

class WebSocketStream;

// A link over an open WebSocket. It owns the wire: the hand-over from QWebSocket's handshake to
// our own frame reader and writer (WebSocketStream), the close handshake, and keepalive pings
// that also find a peer gone silent.
class WebSocketLink final : public Link
{
    Q_OBJECT

public:
    struct Settings
    {
        // A client masks what it sends and requires unmasked frames (RFC 6455 section 5.1).
        bool isClient = false;
        quint32 maxMessageSize = 0;
        // Ping interval; a peer silent for three intervals is considered gone.
        int keepAliveMs = 20000;
    };

    // Takes ownership of an open WebSocket. transport is the TCP or TLS socket it runs on, when
    // the WebSocket does not own it (accepted connections); a dialing WebSocket's is found.
    WebSocketLink(QWebSocket *socket, const Settings &settings, QObject *parent = nullptr,
                  QAbstractSocket *transport = nullptr);
    ~WebSocketLink() override;

    void send(QByteArray message) override;
    qint64 backlog() const override;
    bool isOpen() const override { return m_open; }
    QString peerAddress() const override { return m_peerAddress; }
    void close(LinkEnding ending, const QString &reason) override;
    QByteArray takeReceivedMessage(QByteArrayView part) override;

private:
    void receive(QByteArrayView message);
    void fail(LinkEnding ending, const QString &reason);
    void end(const QString &reason);
    void checkKeepAlive();

    QWebSocket *m_socket;
    WebSocketStream *m_stream;
    // The transport and the sockets beneath it (TLS's plain socket, a proxy's connection): the
    // backlog is what waits in all of them.
    QList<QPointer<QAbstractSocket>> m_writeQueues;
    Settings m_settings;
    QString m_peerAddress;
    bool m_open = true;
    QString m_endReason;
    QTimer m_keepAliveTimer;
    QElapsedTimer m_lastHeard;
};

} // namespace wstunnel
