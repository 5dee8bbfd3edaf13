#pragma once

#include "TunnelError.h"
#include "client/ClientSettings.h"
#include "protocol/Message.h"

#include <QObject>

namespace wstunnel {

class AllowList;
class RemoteListeners;
class TunnelClient;
class TunnelSession;

// The agent role's link to one hub. It dials out as a desktop does (TLS, proxy, headers,
// keepalive, reconnects with backoff), registers a name, and then serves like a remote: it
// connects the channels the hub relays to it under its own allow-list, and listens for the
// reverse forwards of desktops. The hub says whether it is the active instance of its name or a
// standby, and when a standby becomes active.
class AgentConnection : public QObject
{
    Q_OBJECT

public:
    // settings name the hub and how to reach it; the agent adds its registration.
    AgentConnection(ClientSettings settings, const QString &name, const AllowList &allowList,
                    QObject *parent = nullptr);

    void start();
    void stop();
    QUrl hubUrl() const { return m_hubUrl; }
    QString name() const { return m_name; }
    // Absent while not registered.
    AgentState state() const { return m_state; }
    TunnelClient *client() const { return m_client; }

Q_SIGNALS:
    // The hub took the registration (again, after a reconnect) with this standing.
    void registered(wstunnel::AgentState state);
    // A standby was made the active instance.
    void promoted();
    // The hub refused the agent for good (token, name, path); no more retries.
    void failed(const wstunnel::TunnelError &error);

private:
    void onSessionReady(TunnelSession *session);
    void onStatus(AgentState state, const QString &name);

    QUrl m_hubUrl;
    QString m_name;
    TunnelClient *m_client;
    RemoteListeners *m_listeners;
    AgentState m_state = AgentState::Absent;
};

} // namespace wstunnel
