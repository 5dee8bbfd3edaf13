#pragma once

#include "ChannelGroup.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QTcpServer>
#include <QTimer>

namespace wstunnel {

class AcceptThrottle;
class ChannelEndpoint;
class SocksEndpoint;
class TunnelSession;

// Listens on a local address and carries every accepted connection through the current session
// to a fixed target on the far side. Used by -L on the desktop and by reverse forwards (-R) on
// the remote; the session may come and go while the port stays bound.
//
// A dynamic forward (-D) has no fixed target: each connection is a SOCKS client that names its
// own, and gets the far side's answer as its SOCKS reply.
class ForwardListener : public QTcpServer, public ChannelGroup
{
    Q_OBJECT

public:
    static constexpr int kListenBacklog = 1024;
    // A connection that arrives while the remote is (re)connecting, or while the session is held
    // for a resume, waits this long for it.
    static constexpr int kSessionWaitMs = 10000;
    static constexpr int kMaxWaiting = 256;

    ForwardListener(const QString &targetHost, quint16 targetPort, QObject *parent = nullptr);
    // A dynamic forward.
    explicit ForwardListener(QObject *parent = nullptr);

    // Binds address:port; on failure the message names the address and the cause.
    bool start(const QHostAddress &address, quint16 port, QString *error);
    void setSession(TunnelSession *session);
    void setTarget(const QString &host, quint16 port);

    QString targetHost() const { return m_targetHost; }
    quint16 targetPort() const { return m_targetPort; }
    bool isDynamic() const { return m_dynamic; }
    QString localEndpoint() const;
    // host:port, or "SOCKS" for a dynamic forward.
    QString target() const;

    // Resets every open channel and drops waiting connections, for example when the user
    // switches the mapping off.
    void closeChannels(const QString &reason) override;
    int waitingConnections() const { return int(m_waiting.size()); }

Q_SIGNALS:
    void channelOpened(wstunnel::Channel *channel);
    void channelClosed(const wstunnel::ChannelSummary &summary);
    // A connection waits for the remote to (re)connect.
    void sessionWanted();

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    struct WaitingConnection
    {
        QPointer<ChannelEndpoint> endpoint;
        QString host;
        quint16 port = 0;
        QElapsedTimer since;
    };

    void acceptSocks(SocksEndpoint *endpoint);
    // Carries the connection now, or once the session is ready.
    void dispatch(ChannelEndpoint *endpoint, const QString &host, quint16 port);
    void carry(ChannelEndpoint *endpoint, const QString &host, quint16 port);
    void expireWaiting();
    static void dropWaiting(ChannelEndpoint *endpoint);

    QString m_targetHost;
    quint16 m_targetPort;
    bool m_dynamic = false;
    QPointer<TunnelSession> m_session;
    QList<WaitingConnection> m_waiting;
    QTimer m_waitTimer;
    AcceptThrottle *m_acceptThrottle = nullptr;
};

} // namespace wstunnel
