#pragma once

#include "AgentRegistry.h"
#include "server/TunnelServer.h"

#include <QList>

namespace wstunnel {

class ForwardListener;

// The hub role of wstunnel-remote: agents dial in and register a name, desktops dial in and ask
// for an agent by name, and the hub relays the desktops' channels and reverse forwards to the
// active agent of that name, promoting a standby at once when the active one is gone. Tokens
// decide who is which (Identity::Kind) and which names each may register or reach.
class HubServer : public TunnelServer
{
    Q_OBJECT

public:
    // A published port: TCP clients of bindAddress:port on the hub reach host:hostPort through
    // the active agent of agent.
    struct Publication
    {
        QHostAddress bindAddress = QHostAddress(QHostAddress::LocalHost);
        quint16 port = 0;
        QString agent;
        QString host;
        quint16 hostPort = 0;
    };

    HubServer(const ServerSettings &settings, const TokenStore &tokens, QObject *parent = nullptr);

    const AgentRegistry &registry() const { return m_registry; }
    // Binds a published port now; false with error set when it cannot be bound.
    bool publish(const Publication &publication, QString *error);
    QList<ForwardListener *> publishedPorts() const { return m_published; }

Q_SIGNALS:
    // An agent session registered, or was promoted from standby.
    void agentStateChanged(const QString &name, const QString &address, wstunnel::AgentState state);

protected:
    std::optional<Refusal> admit(Identity &identity, const UpgradeRequest &request) const override;
    void adoptSession(TunnelSession *session, const Identity &identity) override;

private:
    void adoptAgent(TunnelSession *session, const QString &name, Capabilities resume);
    // Moves a held active agent behind its standbys, which take new channels at once; false when
    // it has none (or is not active).
    bool failOver(TunnelSession *held, const QString &name);
    // Ends the held sessions a newly registered agent session replaces.
    void endRestartedAgent(TunnelSession *session, const QString &name);
    // A desktop that asked for the directory gets it and the session ends.
    void adoptListing(TunnelSession *session, const QStringList &patterns);
    // The registered agent instances whose names match patterns, active ones first per name.
    QList<AgentListing> listing(const QStringList &patterns) const;
    void onActiveChanged(const QString &name, const QString &previousAddress);

    AgentRegistry m_registry;
    QList<ForwardListener *> m_published;
    QHash<ForwardListener *, QString> m_publishedAgent;
};

} // namespace wstunnel
