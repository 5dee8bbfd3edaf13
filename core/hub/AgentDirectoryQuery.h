#pragma once

#include "TunnelError.h"
#include "client/ClientSettings.h"
#include "protocol/Message.h"

#include <QList>
#include <QObject>
#include <QTimer>

namespace wstunnel {

class TunnelClient;
class TunnelSession;

// Asks a hub once which agents a desktop token may reach: it dials as the desktop's client does
// (path, TLS trust, pin, client certificate, proxy, extra headers), asks for the list instead of
// an agent, and reports the instances the hub lists or why there is no list. Nothing is retried:
// someone is waiting for the answer.
class AgentDirectoryQuery : public QObject
{
    Q_OBJECT

public:
    // settings reach the hub as the desktop's remote does; an agent it names is left out.
    explicit AgentDirectoryQuery(ClientSettings settings, QObject *parent = nullptr);

    // Asks (again); an answer still under way is dropped.
    void start();
    bool isRunning() const { return m_client != nullptr; }

Q_SIGNALS:
    // Each connected instance, the active one of a name before its standbys.
    void listed(const QList<wstunnel::AgentListing> &agents);
    void failed(const wstunnel::TunnelError &error);

private:
    void onSessionReady(TunnelSession *session);
    void finish();

    ClientSettings m_settings;
    TunnelClient *m_client = nullptr;
    QTimer m_timeout;
};

} // namespace wstunnel
