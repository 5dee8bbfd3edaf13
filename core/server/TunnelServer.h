#pragma once

#include "AllowList.h"
#include "HalfOpenRequests.h"
#include "ServerSettings.h"
#include "SourcePenalties.h"
#include "TokenStore.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QSslServer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QWebSocketServer>

#include <memory>
#include <optional>

namespace wstunnel {

class AcceptThrottle;
class RemoteListeners;
class ResumableSessions;
class TunnelSession;
struct UpgradeRequest;

// The serve role of wstunnel-remote: accepts desktops on one port, checks their token before the
// WebSocket upgrade, and runs one TunnelSession per desktop with the allow-list as target policy.
// A hub (HubServer) is a TunnelServer that admits and serves its sessions otherwise.
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

protected:
    // An HTTP answer refusing an upgrade, and what the log says about it.
    struct Refusal
    {
        int status = 403;
        QByteArray statusText = "Forbidden";
        QString message;
    };
    // Once a token proved an identity: a role may narrow it by the request (a hub: the agent
    // name asked for) or refuse the request. serve takes every identity as it is.
    virtual std::optional<Refusal> admit(Identity &identity, const UpgradeRequest &request) const;
    // Sets up a new session before it starts; it already has serve's capabilities and target
    // policy, which a role may replace. serve answers its listen requests.
    virtual void adoptSession(TunnelSession *session, const Identity &identity);

private:
    void onNewConnection();
    void logHandshakeFailures(QSslServer *server);
    void inspectRequest(QTcpSocket *socket);
    // Counts socket among the half-open requests, closing the oldest beyond the caps.
    void addHalfOpen(QTcpSocket *socket);
    // A TLS connection was accepted and its handshake is about to start.
    void onHandshakeStarting(QSslServer *server);
    void closeHalfOpen(QTcpSocket *socket);
    void refuse(QTcpSocket *socket, int status, const QByteArray &statusText,
                const QString &message, const QByteArray &extraHeaders = QByteArray());
    // refuse() without the log line, for what has been logged once already.
    void answerRefusal(QTcpSocket *socket, int status, const QByteArray &statusText,
                       const QString &message, const QByteArray &extraHeaders);
    void onWebSocket();
    std::shared_ptr<TargetPolicy> targetPolicyFor(const Identity &identity) const;
    // Registers a session for resume once it has issued its ticket, and answers its resume
    // request if it is a new WebSocket asking to resume another.
    void watchResume(TunnelSession *session, const QString &identity);

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
    HalfOpenRequests m_halfOpen;
    SourcePenalties m_penalties;
    // Sources told about their crowding since the table was last empty: one line per episode.
    QSet<QHostAddress> m_crowdingSources;
    RemoteListeners *m_remoteListeners;
    ResumableSessions *m_resumable;
    AcceptThrottle *m_acceptThrottle = nullptr;
};

} // namespace wstunnel
