#pragma once

#include "ClientSettings.h"
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
// backoff, while its local forwards stay bound. A refused token is final, not retried.
class TunnelClient : public QObject, public TargetPolicy
{
    Q_OBJECT

public:
    enum class State { Stopped, Connecting, Connected, Retrying, Failed };
    Q_ENUM(State)

    explicit TunnelClient(const ClientSettings &settings, QObject *parent = nullptr);
    ~TunnelClient() override;

    // Binds the local port now, so that a busy port is reported before any connecting.
    ForwardListener *addLocalForward(const ForwardSpec &spec, QString *error);
    void removeLocalForward(ForwardListener *listener);
    // The same for a UDP mapping (-L …/udp): binds the local UDP port now.
    DatagramListener *addDatagramForward(const ForwardSpec &spec, QString *error);
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

    void start();
    void stop();
    State state() const { return m_state; }
    QString statusText() const { return m_statusText; }
    TunnelSession *session() const;

    // Connects a channel the remote opened for one of the reverse forwards of its transport to
    // its target; the forward counts the channel (context) among its own.
    void resolve(const QString &host, quint16 port, ChannelTransport transport, QObject *context,
                 Callback done) override;

Q_SIGNALS:
    void stateChanged(wstunnel::TunnelClient::State state, const QString &message);
    void sessionReady(wstunnel::TunnelSession *session);
    void reverseForwardReady(const wstunnel::ForwardSpec &spec, quint16 remotePort);
    void reverseForwardFailed(const wstunnel::ForwardSpec &spec, const QString &reason);
    // The remote's certificate failed verification (the client then fails). A user who checked
    // the fingerprint may trust this certificate: ClientSettings::trustedCertificateSha256.
    void certificateRejected(const QString &sha256Fingerprint, const QString &problem);

private:
    void connectNow();
    void onConnected();
    void onSessionReady();
    void askToListen(ReverseForward *forward);
    void onSocketError();
    void onSslErrors(const QList<QSslError> &errors);
    void onEncrypted();
    void onAlertReceived(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description);
    QString proxyProblem(QAbstractSocket::SocketError error) const;
    void fail(const QString &message);
    void connectionLost(const QString &reason);
    void setState(State state, const QString &message);

    ClientSettings m_settings;
    State m_state = State::Stopped;
    QString m_statusText;
    QWebSocket *m_socket = nullptr;
    QNetworkProxy m_proxy;
    // Why the TLS handshake of the current attempt failed, as the user should read it: the
    // server's certificate, or the server's refusal of ours.
    QString m_tlsProblem;
    bool m_encrypted = false;
    QPointer<TunnelSession> m_session;
    QList<ForwardListener *> m_listeners;
    QList<DatagramListener *> m_datagramListeners;
    QList<ReverseForward *> m_reverse;
    QTimer m_retryTimer;
    QTimer m_handshakeTimer;
    int m_backoffMs;
};

} // namespace wstunnel
