#pragma once

#include "ClientSettings.h"
#include "TunnelError.h"
#include "config/ForwardSpec.h"
#include "session/TargetPolicy.h"

#include <QList>
#include <QNetworkProxy>
#include <QObject>
#include <QPointer>
#include <QSslError>
#include <QTimer>

class QWebSocket;

namespace wstunnel {

class DatagramListener;
class ForwardListener;
class ReverseForward;
class TunnelSession;

// The desktop end: keeps one session to a remote alive, reconnecting with capped exponential
// backoff, while its local forwards stay bound. A refused token is final, not retried. Failures
// are reported as TunnelError: what went wrong is decided here, the words are the caller's.
class TunnelClient : public QObject, public TargetPolicy
{
    Q_OBJECT

public:
    enum class State { Stopped, Connecting, Connected, Retrying, Failed };
    Q_ENUM(State)

    explicit TunnelClient(const ClientSettings &settings, QObject *parent = nullptr);
    ~TunnelClient() override;

    // Binds the local port now, so that a busy port is reported before any connecting. Also
    // for a dynamic forward (-D), a SOCKS server.
    ForwardListener *addLocalForward(const ForwardSpec &spec, TunnelError *error);
    void removeLocalForward(ForwardListener *listener);
    // The same for a UDP mapping (-L …/udp): binds the local UDP port now.
    DatagramListener *addDatagramForward(const ForwardSpec &spec, TunnelError *error);
    void removeDatagramForward(DatagramListener *listener);
    // Asks the remote to listen now if connected, else once connected, and again after every
    // reconnect. The forward, owned by this client, tracks the answer and the channels it carries.
    ReverseForward *addReverseForward(const ForwardSpec &spec);
    // Stops the remote's listener of a reverse forward and resets its connections.
    void removeReverseForward(ReverseForward *forward);
    // The same for the first reverse forward with this spec.
    void removeReverseForward(const ForwardSpec &spec);
    QList<ForwardListener *> localForwards() const { return m_listeners; }
    QList<DatagramListener *> datagramForwards() const { return m_datagramListeners; }
    QList<ReverseForward *> reverseForwards() const { return m_reverse; }

    // What this client's sessions accept from the remote (an agent: listen requests); nothing by
    // default. Set before start().
    void setLocalCapabilities(Capabilities capabilities) { m_localCapabilities = capabilities; }
    // Who decides on channels the remote opens (an agent: its allow-list); by default this client,
    // for its reverse forwards. Set before start().
    void setTargetPolicy(std::shared_ptr<TargetPolicy> policy)
    {
        m_targetPolicy = std::move(policy);
    }

    void start();
    void stop();
    State state() const { return m_state; }
    // The state in neutral English, as logged.
    QString statusText() const { return m_statusText; }
    // Why the last attempt failed, until a session is up again; final once the client failed.
    TunnelError error() const { return m_error; }
    TunnelSession *session() const;

    // Connects a channel the remote opened for one of the reverse forwards of its transport to
    // its target; the forward counts the channel (context) among its own.
    void resolve(const QString &host, quint16 port, ChannelTransport transport, QObject *context,
                 Callback done) override;

Q_SIGNALS:
    // error is error(): empty unless an attempt failed since the last session was up.
    void stateChanged(wstunnel::TunnelClient::State state, const wstunnel::TunnelError &error);
    void sessionReady(wstunnel::TunnelSession *session);
    void reverseForwardReady(const wstunnel::ForwardSpec &spec, quint16 remotePort);
    void reverseForwardFailed(const wstunnel::ForwardSpec &spec, const QString &reason);

private:
    void connectNow();
    void onConnected();
    void onSessionReady();
    void onLinkLost(const QString &reason);
    void onSessionResumed();
    void adaptKeepAlive(qint64 idleMs);
    // A local connection waits for the remote: do not wait for the backoff timer.
    void redialNow();
    void askToListen(ReverseForward *forward);
    void onSocketError();
    void onSslErrors(const QList<QSslError> &errors);
    void onEncrypted();
    void onAlertReceived(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description);
    TunnelError proxyProblem(QAbstractSocket::SocketError error) const;
    // Gives up: retrying cannot help.
    void fail(TunnelError error);
    // Drops the attempt or the session and tries again later.
    void connectionLost(TunnelError error);
    void connectionLost(const QString &reason);
    void setState(State state, const QString &message);

    ClientSettings m_settings;
    State m_state = State::Stopped;
    QString m_statusText;
    TunnelError m_error;
    QWebSocket *m_socket = nullptr;
    QNetworkProxy m_proxy;
    // Why the TLS handshake of the current attempt failed: the server's certificate, or the
    // server's refusal of ours.
    TunnelError m_tlsError;
    bool m_encrypted = false;
    QPointer<TunnelSession> m_session;
    // A desktop takes datagram channels: UDP reverse forwards come back as such.
    Capabilities m_localCapabilities = Capability::DatagramChannels;
    std::shared_ptr<TargetPolicy> m_targetPolicy;
    QList<ForwardListener *> m_listeners;
    QList<DatagramListener *> m_datagramListeners;
    QList<ReverseForward *> m_reverse;
    QTimer m_retryTimer;
    QTimer m_handshakeTimer;
    int m_backoffMs;
};

} // namespace wstunnel
