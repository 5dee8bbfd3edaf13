#pragma once

#include "ClientSettings.h"
#include "config/ForwardSpec.h"
#include "session/TargetPolicy.h"

#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>

class QWebSocket;

namespace wstunnel {

class ForwardListener;
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
    void addReverseForward(const ForwardSpec &spec);
    QList<ForwardListener *> localForwards() const { return m_listeners; }

    void start();
    void stop();
    State state() const { return m_state; }
    QString statusText() const { return m_statusText; }
    TunnelSession *session() const;

    void resolve(const QString &host, quint16 port, QObject *context, Callback done) override;

Q_SIGNALS:
    void stateChanged(wstunnel::TunnelClient::State state, const QString &message);
    void sessionReady(wstunnel::TunnelSession *session);
    void reverseForwardReady(const wstunnel::ForwardSpec &spec, quint16 remotePort);
    void reverseForwardFailed(const wstunnel::ForwardSpec &spec, const QString &reason);

private:
    struct ReverseForward
    {
        ForwardSpec spec;
        quint32 requestId = 0;
        quint16 remotePort = 0;
    };

    void connectNow();
    void onConnected();
    void onSessionReady();
    void onSocketError();
    void connectionLost(const QString &reason);
    void setState(State state, const QString &message);

    ClientSettings m_settings;
    State m_state = State::Stopped;
    QString m_statusText;
    QWebSocket *m_socket = nullptr;
    QPointer<TunnelSession> m_session;
    QList<ForwardListener *> m_listeners;
    QList<ReverseForward> m_reverse;
    QTimer m_retryTimer;
    QTimer m_handshakeTimer;
    int m_backoffMs;
};

} // namespace wstunnel
