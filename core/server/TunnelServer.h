#pragma once

#include "AllowList.h"
#include "ServerSettings.h"
#include "TokenStore.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSslServer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QWebSocketServer>

#include <memory>

namespace wstunnel {

class DatagramListener;
class ForwardListener;
class TunnelSession;
class UpgradeRequest;

// The serve role of wstunnel-remote: accepts desktops on one port, checks their token before the
// WebSocket upgrade, and runs one TunnelSession per desktop with the allow-list as target policy.
// Its sessions take listen requests (reverse forwards, TCP or UDP) and UDP channels.
class TunnelServer : public QObject
{
    Q_OBJECT

public:
    TunnelServer(const ServerSettings &settings, const TokenStore &tokens,
                 const AllowList &allowList, QObject *parent = nullptr);
    ~TunnelServer() override;

    // Loads the TLS files first when configured; false with error set if they or the port fail.
    bool listen(QString *error);
    // Rereads the certificate and key for connections from now on; sessions keep running. On
    // failure the previous ones stay in use.
    bool reloadTls(QString *error);
    quint16 serverPort() const { return m_tcpServer->serverPort(); }
    QString url() const;
    QList<TunnelSession *> sessions() const;
    // Ends every session, telling each peer why.
    void shutdown(const QString &reason);

Q_SIGNALS:
    void sessionStarted(wstunnel::TunnelSession *session);
    void sessionEnded(const QString &peer, const QString &reason);

private:
    void onNewConnection();
    void logHandshakeFailures(QSslServer *server);
    void inspectRequest(QTcpSocket *socket);
    void refuse(QTcpSocket *socket, int status, const QByteArray &statusText,
                const QString &message, const QByteArray &extraHeaders = QByteArray());
    void onWebSocket();
    std::shared_ptr<TargetPolicy> targetPolicyFor(const Identity &identity) const;
    void onUnlistenRequested(TunnelSession *session, quint32 requestId);
    void onListenRequested(TunnelSession *session, quint32 requestId, const QString &bindHost,
                           quint16 port, ChannelTransport transport);
    void listenForDatagrams(TunnelSession *session, quint32 requestId, const QString &bindHost,
                            const QHostAddress &address, quint16 port);

    ServerSettings m_settings;
    TokenStore m_tokens;
    AllowList m_allowList;
    // A QSslServer when TLS is configured: it hands over sockets once the handshake is done.
    QTcpServer *m_tcpServer;
    QWebSocketServer m_webSocketServer;
    QList<QPointer<TunnelSession>> m_sessions;
    // Sockets handed to the WebSocket server, with the identity their token proved.
    struct Upgrading
    {
        QPointer<QTcpSocket> socket;
        Identity identity;
    };
    QList<Upgrading> m_upgrading;
    QHash<QPair<TunnelSession *, quint32>, QPointer<ForwardListener>> m_reverseListeners;
    QHash<QPair<TunnelSession *, quint32>, QPointer<DatagramListener>> m_reverseDatagramListeners;
};

} // namespace wstunnel
