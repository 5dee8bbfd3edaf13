#pragma once

#include "SessionLimits.h"
#include "TcpChannel.h"
#include "protocol/Message.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QWebSocketProtocol>

class QAbstractSocket;
class QWebSocket;

namespace wstunnel {

class StreamSocket;
class WebSocketStream;
class TargetPolicy;

// One WebSocket carrying many channels (docs/PROTOCOL.md). Both ends run the same class: the end
// that dialed numbers its channels odd, the end that accepted numbers them even, so either side
// may open channels at any time.
class TunnelSession : public QObject
{
    Q_OBJECT

public:
    enum class Role { Dialer, Acceptor };

    // Takes ownership of an open WebSocket. transport is the TCP or TLS socket it runs on, when
    // the WebSocket does not own it (accepted connections); a dialing WebSocket's is found.
    TunnelSession(QWebSocket *socket, Role role, const SessionLimits &limits,
                  QObject *parent = nullptr, QAbstractSocket *transport = nullptr);
    ~TunnelSession() override;

    void start(const QString &localName);
    bool isReady() const { return m_ready; }
    Role role() const { return m_role; }
    QString peerName() const { return m_peerName; }
    QString peerAddress() const { return m_peerAddress; }
    const SessionLimits &limits() const { return m_limits; }

    // Who decides on channels the peer opens; without one they are refused.
    void setTargetPolicy(TargetPolicy *policy) { m_policy = policy; }

    // Carries a local connection to host:port on the far side; the session owns the socket.
    TcpChannel *openChannel(StreamSocket *local, const QString &host, quint16 port);
    QList<TcpChannel *> channels() const { return m_channels.values(); }
    // Payload received from the peer and not yet taken by local sockets.
    quint64 bufferedBytes() const;
    // Bytes queued on the WebSocket, not yet taken by the kernel.
    qint64 transportBacklog() const;

    // Asks the peer to listen on bindHost:port and open a channel back for each connection.
    quint32 requestListen(const QString &bindHost, quint16 port);
    void answerListen(quint32 requestId, quint16 boundPort);
    void refuseListen(quint32 requestId, FailureCode code, const QString &reason);
    // Asks the peer to stop a listener it opened for requestId and reset its connections.
    void cancelListen(quint32 requestId);

    // Ends the session, telling the peer why.
    void close(const QString &reason);

    // Used by channels.
    void send(QByteArray message);
    bool canSend() const;
    quint32 peerMaxMessageSize() const { return m_peerMaxMessageSize; }
    // Whether the negotiated version lets a channel's opener send data before open-ok.
    bool allowsEarlyData() const { return m_version >= protocol::kEarlyDataVersion; }
    void channelFinished(TcpChannel *channel);

Q_SIGNALS:
    void ready();
    void closed(const QString &reason);
    void channelOpened(wstunnel::TcpChannel *channel);
    void channelClosed(const wstunnel::ChannelSummary &summary);
    void listenRequested(quint32 requestId, const QString &bindHost, quint16 port);
    void unlistenRequested(quint32 requestId);
    void listenAnswered(quint32 requestId, bool ok, quint16 boundPort, const QString &reason);

private:
    void handleMessage(QByteArrayView bytes);
    void handleHello(const Message &m);
    void handleOpen(const Message &m);
    TcpChannel *channelFor(const Message &m, bool &fatal);
    bool isOurs(quint32 id) const;
    void fail(FailureCode code, const QString &reason,
              QWebSocketProtocol::CloseCode closeCode = QWebSocketProtocol::CloseCodeProtocolError);
    void teardown(const QString &reason);
    void onTransportWritten();
    void checkKeepAlive();

    QWebSocket *m_socket;
    WebSocketStream *m_stream;
    Role m_role;
    SessionLimits m_limits;
    TargetPolicy *m_policy = nullptr;
    bool m_ready = false;
    bool m_ended = false;
    bool m_transportBlocked = false;
    QString m_peerName;
    QString m_peerAddress;
    QString m_endReason;
    quint32 m_peerMaxMessageSize = protocol::kMinMessageSize;
    quint16 m_version = 0; // negotiated in the hello exchange
    QHash<quint32, TcpChannel *> m_channels;
    quint32 m_nextChannelId;
    quint32 m_highestPeerChannelId = 0;
    quint32 m_nextListenId = 1;
    QSet<quint32> m_opening; // opened by the peer, still resolving or connecting
    QTimer m_helloTimer;
    QTimer m_keepAliveTimer;
    QElapsedTimer m_lastHeard;
    QElapsedTimer m_age;
    int m_channelsFinished = 0;
    quint64 m_finishedBytesIn = 0;
    quint64 m_finishedBytesOut = 0;
};

} // namespace wstunnel
