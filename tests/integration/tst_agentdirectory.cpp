// A desktop token asks a real hub on loopback which agents it may reach (AgentDirectoryQuery):
// the instances of each name with their standing, address and age, only names in the token's
// scope, and clear failures from a remote that is not a hub or a hub that refuses the token.
#include "agent/AgentConnection.h"
#include "hub/AgentDirectoryQuery.h"
#include "hub/AgentName.h"
#include "hub/HubServer.h"
#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "server/TunnelServer.h"
#include "session/TunnelSession.h"

#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wstunnel;

namespace {

const QByteArray kDesktopToken = "desktop-token-all";
const QByteArray kScopedDesktopToken = "desktop-token-ci";
const QByteArray kAgentToken = "agent-token-any";

ClientSettings settingsFor(const QString &url, const QByteArray &token)
{
    ClientSettings settings;
    settings.url = QUrl(url);
    settings.token = token;
    settings.proxyMode = ClientSettings::ProxyMode::None;
    return settings;
}

class Hub
{
public:
    Hub()
    {
        TokenStore tokens;
        tokens.add(kDesktopToken,
                   Identity{QStringLiteral("desktop token"), Identity::Kind::Desktop, {}});
        tokens.add(kScopedDesktopToken, Identity{QStringLiteral("ci token"),
                                                 Identity::Kind::Desktop,
                                                 {QStringLiteral("ci-*")}});
        tokens.add(
            kAgentToken,
            Identity{QStringLiteral("agent token"), Identity::Kind::Agent, {QStringLiteral("*")}});
        server = std::make_unique<HubServer>(ServerSettings(), tokens);
        QString error;
        listening = server->listen(&error);
    }

    // Starts an agent and waits until the hub took it.
    bool addAgent(const QString &name)
    {
        AllowList allowList;
        allowList.addLoopbackDefaults();
        agents.push_back(std::make_unique<AgentConnection>(settingsFor(server->url(), kAgentToken),
                                                           name, allowList));
        QSignalSpy registered(agents.back().get(), &AgentConnection::registered);
        agents.back()->start();
        return registered.wait(10000);
    }

    std::unique_ptr<HubServer> server;
    std::vector<std::unique_ptr<AgentConnection>> agents;
    bool listening = false;
};

struct Answer
{
    bool listed = false;
    QList<AgentListing> agents;
    TunnelError error;
};

Answer ask(const ClientSettings &settings)
{
    AgentDirectoryQuery query(settings);
    QSignalSpy listed(&query, &AgentDirectoryQuery::listed);
    QSignalSpy failed(&query, &AgentDirectoryQuery::failed);
    query.start();
    Answer answer;
    if (!QTest::qWaitFor([&] { return !listed.isEmpty() || !failed.isEmpty(); }, 10000))
        return answer;
    if (!listed.isEmpty()) {
        answer.listed = true;
        answer.agents = listed.first().first().value<QList<AgentListing>>();
    } else {
        answer.error = failed.first().first().value<TunnelError>();
    }
    return answer;
}

} // namespace

class AgentDirectoryTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aScopedTokenListsTheInstancesOfTheNamesItMayReach()
    {
        Hub hub;
        QVERIFY(hub.listening);
        QVERIFY(hub.addAgent(QStringLiteral("ci-runner")));
        QVERIFY(hub.addAgent(QStringLiteral("ci-runner")));
        QVERIFY(hub.addAgent(QStringLiteral("devbox")));

        const Answer answer = ask(settingsFor(hub.server->url(), kScopedDesktopToken));
        QVERIFY2(answer.listed, qPrintable(answer.error.toString()));
        QCOMPARE(answer.agents.size(), qsizetype(2));
        const QList<AgentRegistry::Agent> registered = hub.server->registry().agents();
        const AgentListing &active = answer.agents.at(0);
        const AgentListing &standby = answer.agents.at(1);
        QCOMPARE(active.name, QStringLiteral("ci-runner"));
        QCOMPARE(active.state, AgentState::Active);
        QCOMPARE(standby.name, QStringLiteral("ci-runner"));
        QCOMPARE(standby.state, AgentState::Standby);
        // The addresses are the instances' own, the serving one first.
        QCOMPARE(active.address,
                 hub.server->registry().active(QStringLiteral("ci-runner"))->peerAddress());
        QVERIFY(standby.address != active.address);
        QVERIFY(active.connectedSeconds < 60);
        QVERIFY(standby.connectedSeconds <= active.connectedSeconds);
    }

    void anUnscopedTokenListsEveryAgentAndTheListDoesNotRegisterAnything()
    {
        Hub hub;
        QVERIFY(hub.listening);
        QVERIFY(hub.addAgent(QStringLiteral("ci-runner")));
        QVERIFY(hub.addAgent(QStringLiteral("devbox")));

        // An agent the desktop's settings name is not what it asks for here.
        ClientSettings settings = settingsFor(hub.server->url(), kDesktopToken);
        settings.headers.append({QByteArray(AgentName::kReachHeader), "devbox"});
        const Answer answer = ask(settings);
        QVERIFY2(answer.listed, qPrintable(answer.error.toString()));
        QStringList names;
        for (const AgentListing &agent : answer.agents) {
            QCOMPARE(agent.state, AgentState::Active);
            names.append(agent.name);
        }
        QCOMPARE(names, (QStringList{QStringLiteral("ci-runner"), QStringLiteral("devbox")}));
        QCOMPARE(hub.server->registry().agents().size(), qsizetype(2));
        // The hub ended the listing session once the list was out.
        QTRY_COMPARE(hub.server->sessions().size(), qsizetype(2));
    }

    void aHubWithoutAgentsListsNone()
    {
        Hub hub;
        QVERIFY(hub.listening);
        const Answer answer = ask(settingsFor(hub.server->url(), kDesktopToken));
        QVERIFY2(answer.listed, qPrintable(answer.error.toString()));
        QVERIFY(answer.agents.isEmpty());
    }

    void aServeRemoteIsNotAHub()
    {
        TokenStore tokens;
        tokens.add(kDesktopToken,
                   Identity{QStringLiteral("desktop token"), Identity::Kind::Desktop, {}});
        AllowList allowList;
        allowList.addLoopbackDefaults();
        TunnelServer remote(ServerSettings(), tokens, allowList);
        QString error;
        QVERIFY2(remote.listen(&error), qPrintable(error));
        const Answer answer = ask(settingsFor(remote.url(), kDesktopToken));
        QVERIFY(!answer.listed);
        QCOMPARE(answer.error.kind, TunnelError::Kind::NotAHub);
        QVERIFY(answer.error.final);
    }

    void refusedTokensAreReportedNotRetried()
    {
        Hub hub;
        QVERIFY(hub.listening);
        const Answer wrong = ask(settingsFor(hub.server->url(), "not-a-token"));
        QCOMPARE(wrong.error.kind, TunnelError::Kind::TokenRefused);
        // An agent's token may not list; an older hub answers any listing so.
        const Answer agentToken = ask(settingsFor(hub.server->url(), kAgentToken));
        QCOMPARE(agentToken.error.kind, TunnelError::Kind::AgentListRefused);
        QVERIFY2(agentToken.error.toString().contains(QStringLiteral("HTTP 403")),
                 qPrintable(agentToken.error.toString()));
    }

    void anUnreachableHubIsReportedAtOnce()
    {
        Hub hub;
        QVERIFY(hub.listening);
        const QString url = hub.server->url();
        hub.server.reset();
        const Answer answer = ask(settingsFor(url, kDesktopToken));
        QCOMPARE(answer.error.kind, TunnelError::Kind::ConnectionRefused);
    }
};

QTEST_GUILESS_MAIN(AgentDirectoryTest)
#include "tst_agentdirectory.moc"
