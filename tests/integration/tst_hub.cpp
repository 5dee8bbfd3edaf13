// A hub, agents and desktops in this process, over real WebSockets on loopback: what the hub
// admits (tokens, agent names, scopes), registration and standing, the relay (TCP and UDP), and
// failover.
#include "CuttableRelay.h"
#include "EchoServer.h"
#include "Exchange.h"
#include "StreamPump.h"
#include "UdpEchoServer.h"
#include "UdpFlood.h"

#include "agent/AgentConnection.h"
#include "client/TunnelClient.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"
#include "forward/ReverseForward.h"
#include "hub/AgentName.h"
#include "hub/HubServer.h"
#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "session/TunnelSession.h"

#include <QElapsedTimer>
#include <QNetworkDatagram>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>
#include <QUdpSocket>

#include <memory>

using namespace wstunnel;

namespace {

const QByteArray kDesktopToken = "desktop-token-all";
const QByteArray kScopedDesktopToken = "desktop-token-ci";
const QByteArray kAgentToken = "agent-token-devbox";
const QByteArray kAnyAgentToken = "agent-token-any";
const QString kAgent = QStringLiteral("devbox");

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
        tokens.add(kAgentToken,
                   Identity{QStringLiteral("devbox token"), Identity::Kind::Agent, {kAgent}});
        tokens.add(kAnyAgentToken, Identity{QStringLiteral("any agent token"),
                                            Identity::Kind::Agent,
                                            {QStringLiteral("*")}});
        server = std::make_unique<HubServer>(ServerSettings(), tokens);
        QString error;
        listening = server->listen(&error);
    }

    ClientSettings clientSettings(const QByteArray &token) const
    {
        ClientSettings settings;
        settings.url = QUrl(server->url());
        settings.token = token;
        settings.proxyMode = ClientSettings::ProxyMode::None;
        return settings;
    }

    std::unique_ptr<AgentConnection> agent(const QString &name = kAgent,
                                           const QByteArray &token = kAgentToken) const
    {
        AllowList allowList;
        allowList.addLoopbackDefaults();
        return std::make_unique<AgentConnection>(clientSettings(token), name, allowList);
    }

    // An agent of kAgent whose WebSocket goes through relay, which can cut it.
    std::unique_ptr<AgentConnection> agentThrough(const CuttableRelay &relay) const
    {
        ClientSettings settings = clientSettings(kAgentToken);
        settings.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(relay.port()));
        AllowList allowList;
        allowList.addLoopbackDefaults();
        return std::make_unique<AgentConnection>(settings, kAgent, allowList);
    }

    std::unique_ptr<TunnelClient> desktop(const QString &agentName,
                                          const QByteArray &token = kDesktopToken) const
    {
        ClientSettings settings = clientSettings(token);
        if (!agentName.isEmpty())
            settings.headers.append({QByteArray(AgentName::kReachHeader), agentName.toUtf8()});
        return std::make_unique<TunnelClient>(settings);
    }

    std::unique_ptr<HubServer> server;
    bool listening = false;
};

bool waitConnected(TunnelClient &client)
{
    return QTest::qWaitFor([&] { return client.state() == TunnelClient::State::Connected; }, 10000);
}

bool waitFailed(TunnelClient &client)
{
    return QTest::qWaitFor([&] { return client.state() == TunnelClient::State::Failed; }, 10000);
}

quint16 forwardTo(TunnelClient &client, quint16 port)
{
    ForwardSpec spec;
    spec.targetHost = QStringLiteral("127.0.0.1");
    spec.targetPort = port;
    TunnelError error;
    ForwardListener *listener = client.addLocalForward(spec, &error);
    return listener ? listener->serverPort() : 0;
}

DatagramListener *forwardDatagramsTo(TunnelClient &client, quint16 port)
{
    ForwardSpec spec;
    spec.targetHost = QStringLiteral("127.0.0.1");
    spec.targetPort = port;
    spec.transport = ChannelTransport::Udp;
    TunnelError error;
    return client.addDatagramForward(spec, &error);
}

QByteArray payload(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 253);
    return bytes;
}

// The datagrams a session's UDP flows dropped: those its local side (a socket, a hub's relay
// queue) did not take, and those it did not send.
struct Drops
{
    quint64 in = 0;
    quint64 out = 0;
};

Drops datagramsDropped(const TunnelSession *session)
{
    Drops drops;
    for (const Channel *channel : session ? session->channels() : QList<Channel *>()) {
        drops.in += channel->droppedIn();
        drops.out += channel->droppedOut();
    }
    return drops;
}

} // namespace

class HubTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void theFirstAgentOfANameIsActiveTheNextStandby()
    {
        Hub hub;
        QVERIFY(hub.listening);
        auto first = hub.agent();
        QSignalSpy firstRegistered(first.get(), &AgentConnection::registered);
        first->start();
        QVERIFY(firstRegistered.wait(10000));
        QCOMPARE(firstRegistered.first().first().value<AgentState>(), AgentState::Active);

        auto second = hub.agent(kAgent, kAnyAgentToken);
        QSignalSpy secondRegistered(second.get(), &AgentConnection::registered);
        second->start();
        QVERIFY(secondRegistered.wait(10000));
        QCOMPARE(secondRegistered.first().first().value<AgentState>(), AgentState::Standby);
        QCOMPARE(second->state(), AgentState::Standby);

        const QList<AgentRegistry::Agent> agents = hub.server->registry().agents();
        QCOMPARE(agents.size(), qsizetype(2));
        // In the order they registered, the active one first.
        QCOMPARE(hub.server->registry().active(kAgent), agents.at(0).session.data());
        QVERIFY(agents.at(0).since <= agents.at(1).since);
        for (const AgentRegistry::Agent &agent : agents)
            QCOMPARE(agent.name, kAgent);
    }

    void wrongTokensAreRefusedWith401()
    {
        Hub hub;
        QVERIFY(hub.listening);
        auto desktop = hub.desktop(kAgent, "not-a-token");
        desktop->start();
        QVERIFY(waitFailed(*desktop));
        QVERIFY2(desktop->statusText().contains(QStringLiteral("HTTP 401")),
                 qPrintable(desktop->statusText()));

        auto agent = hub.agent(kAgent, "not-a-token-either");
        QSignalSpy failed(agent.get(), &AgentConnection::failed);
        agent->start();
        QVERIFY(failed.wait(10000));
        QVERIFY2(failed.first().first().value<TunnelError>().toString().contains(
                     QStringLiteral("HTTP 401")),
                 qPrintable(failed.first().first().value<TunnelError>().toString()));
        QVERIFY(hub.server->registry().agents().isEmpty());
    }

    void anAgentTokenRegistersOnlyItsOwnName()
    {
        Hub hub;
        QVERIFY(hub.listening);
        auto impostor = hub.agent(QStringLiteral("payroll"), kAgentToken);
        QSignalSpy failed(impostor.get(), &AgentConnection::failed);
        QSignalSpy registered(impostor.get(), &AgentConnection::registered);
        impostor->start();
        QVERIFY(failed.wait(10000));
        QVERIFY2(failed.first().first().value<TunnelError>().toString().contains(
                     QStringLiteral("HTTP 403")),
                 qPrintable(failed.first().first().value<TunnelError>().toString()));
        QCOMPARE(registered.size(), 0);
        QVERIFY(hub.server->registry().agents().isEmpty());

        // A token for any name registers whatever name it is given.
        auto other = hub.agent(QStringLiteral("payroll"), kAnyAgentToken);
        QSignalSpy otherRegistered(other.get(), &AgentConnection::registered);
        other->start();
        QVERIFY(otherRegistered.wait(10000));
        QCOMPARE(hub.server->registry().agents().first().name, QStringLiteral("payroll"));
    }

    void tokensOfOneKindDoNotServeTheOther()
    {
        Hub hub;
        QVERIFY(hub.listening);
        auto desktopAsAgent = hub.agent(kAgent, kDesktopToken);
        QSignalSpy failed(desktopAsAgent.get(), &AgentConnection::failed);
        desktopAsAgent->start();
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().first().value<TunnelError>().toString().contains(
            QStringLiteral("HTTP 403")));

        auto agentAsDesktop = hub.desktop(kAgent, kAgentToken);
        agentAsDesktop->start();
        QVERIFY(waitFailed(*agentAsDesktop));
        QVERIFY(agentAsDesktop->statusText().contains(QStringLiteral("HTTP 403")));

        auto nameless = hub.desktop(QString());
        nameless->start();
        QVERIFY(waitFailed(*nameless));
        QVERIFY(nameless->statusText().contains(QStringLiteral("HTTP 403")));
    }

    void aScopedDesktopTokenReachesOnlyItsAgents()
    {
        Hub hub;
        QVERIFY(hub.listening);
        auto outOfScope = hub.desktop(kAgent, kScopedDesktopToken);
        outOfScope->start();
        QVERIFY(waitFailed(*outOfScope));
        QVERIFY2(outOfScope->statusText().contains(QStringLiteral("HTTP 403")),
                 qPrintable(outOfScope->statusText()));

        auto inScope = hub.desktop(QStringLiteral("ci-runner-7"), kScopedDesktopToken);
        inScope->start();
        QVERIFY(waitConnected(*inScope));
    }

    void channelsAndReverseForwardsGoThroughTheActiveAgent()
    {
        Hub hub;
        QVERIFY(hub.listening);
        EchoServer echo;
        auto agent = hub.agent();
        QSignalSpy registered(agent.get(), &AgentConnection::registered);
        agent->start();
        QVERIFY(registered.wait(10000));

        auto desktop = hub.desktop(kAgent);
        const quint16 port = forwardTo(*desktop, echo.serverPort());
        QVERIFY(port != 0);
        ForwardSpec reverseSpec;
        reverseSpec.direction = ForwardSpec::Direction::Reverse;
        reverseSpec.targetHost = QStringLiteral("127.0.0.1");
        reverseSpec.targetPort = echo.serverPort();
        ReverseForward *reverse = desktop->addReverseForward(reverseSpec);
        desktop->start();
        QVERIFY(waitConnected(*desktop));
        QCOMPARE(exchange(port, "through the hub"), QByteArray("through the hub"));
        QTRY_COMPARE_WITH_TIMEOUT(reverse->state(), ReverseForward::State::Listening, 10000);
        // The agent listens, and what connects there reaches the desktop's side.
        QCOMPARE(exchange(reverse->remotePort(), "back to the laptop"),
                 QByteArray("back to the laptop"));
        QCOMPARE(echo.connectionsAccepted(), 2);
    }

    void theStandbyIsPromotedWhenTheActiveAgentIsGone()
    {
        Hub hub;
        QVERIFY(hub.listening);
        EchoServer echo;
        auto first = hub.agent();
        QSignalSpy firstRegistered(first.get(), &AgentConnection::registered);
        first->start();
        QVERIFY(firstRegistered.wait(10000));
        auto second = hub.agent();
        QSignalSpy secondRegistered(second.get(), &AgentConnection::registered);
        QSignalSpy promoted(second.get(), &AgentConnection::promoted);
        second->start();
        QVERIFY(secondRegistered.wait(10000));

        auto desktop = hub.desktop(kAgent);
        const quint16 port = forwardTo(*desktop, echo.serverPort());
        ForwardSpec reverseSpec;
        reverseSpec.direction = ForwardSpec::Direction::Reverse;
        reverseSpec.targetHost = QStringLiteral("127.0.0.1");
        reverseSpec.targetPort = echo.serverPort();
        ReverseForward *reverse = desktop->addReverseForward(reverseSpec);
        desktop->start();
        QVERIFY(waitConnected(*desktop));
        QTRY_COMPARE_WITH_TIMEOUT(reverse->state(), ReverseForward::State::Listening, 10000);
        const quint16 reversePort = reverse->remotePort();
        QCOMPARE(exchange(port, "before"), QByteArray("before"));

        QSignalSpy hubSaid(hub.server.get(), &HubServer::agentStateChanged);
        // Gone at once, as a killed process is: its listeners close with it.
        first.reset();
        QVERIFY(promoted.wait(10000));
        QCOMPARE(second->state(), AgentState::Active);
        QTRY_COMPARE(hubSaid.size(), 1);
        QCOMPARE(hubSaid.first().at(2).value<AgentState>(), AgentState::Active);
        // The lost agent stays registered behind the new active one, held for a resume.
        const QList<AgentRegistry::Agent> agents = hub.server->registry().agents();
        QCOMPARE(agents.size(), qsizetype(2));
        QVERIFY(!agents.first().session->isHeld());
        QVERIFY(agents.last().session->isHeld());

        QCOMPARE(exchange(port, "after"), QByteArray("after"));
        // The reverse forward listens again, on the same port, on the new active agent.
        QTRY_VERIFY_WITH_TIMEOUT(exchange(reversePort, "reverse after") == "reverse after", 10000);
    }

    void udpMappingsGoThroughTheActiveAgentBothWays()
    {
        Hub hub;
        QVERIFY(hub.listening);
        UdpEchoServer echo;
        auto agent = hub.agent();
        QSignalSpy registered(agent.get(), &AgentConnection::registered);
        agent->start();
        QVERIFY(registered.wait(10000));

        auto desktop = hub.desktop(kAgent);
        DatagramListener *local = forwardDatagramsTo(*desktop, echo.port());
        QVERIFY(local);
        ForwardSpec reverseSpec;
        reverseSpec.direction = ForwardSpec::Direction::Reverse;
        reverseSpec.targetHost = QStringLiteral("127.0.0.1");
        reverseSpec.targetPort = echo.port();
        reverseSpec.transport = ChannelTransport::Udp;
        ReverseForward *reverse = desktop->addReverseForward(reverseSpec);
        desktop->start();
        QVERIFY(waitConnected(*desktop));

        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        const QList<int> sizes{1, 1472, 9000, int(protocol::kMaxDatagramSize)};
        for (const int size : sizes) {
            const QByteArray datagram = payload(size, 'l');
            QCOMPARE(exchange(client, QHostAddress::LocalHost, local->serverPort(), datagram),
                     datagram);
        }
        // A burst keeps each datagram whole and apart.
        for (int i = 1; i <= 20; ++i)
            client.writeDatagram(payload(i * 100, char(i)), QHostAddress::LocalHost,
                                 local->serverPort());
        QList<QByteArray> replies;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                while (client.hasPendingDatagrams())
                    replies.append(client.receiveDatagram().data());
                return replies.size() == 20;
            }(),
            10000);
        for (int i = 1; i <= 20; ++i)
            QVERIFY2(replies.contains(payload(i * 100, char(i))), qPrintable(QString::number(i)));

        // The agent listens for UDP, and what is sent there reaches the desktop's side.
        QTRY_COMPARE_WITH_TIMEOUT(reverse->state(), ReverseForward::State::Listening, 10000);
        QUdpSocket visitor;
        QVERIFY(visitor.bind(QHostAddress::LocalHost, 0));
        for (const int size : sizes) {
            const QByteArray datagram = payload(size, 'r');
            QCOMPARE(exchange(visitor, QHostAddress::LocalHost, reverse->remotePort(), datagram),
                     datagram);
        }
        QCOMPARE(reverse->openChannels(), 1);
        QCOMPARE(local->flowCount(), 1);
        QCOMPARE(local->datagramsDropped(), quint64(0));
        QCOMPARE(echo.datagramsReceived(), 2 * int(sizes.size()) + 20);
    }

    // A source flooding a target that never reads, through the hub: what a hop cannot carry is
    // dropped and counted, no hop of the hub holds more than its bounds, and a TCP connection
    // through the same desktop, hub and agent keeps moving, whole.
    void aUdpFloodThroughTheHubDoesNotStallTcp()
    {
        Hub hub;
        QVERIFY(hub.listening);
        QUdpSocket deafTarget; // bound, never read
        QVERIFY(deafTarget.bind(QHostAddress::LocalHost, 0));
        EchoServer echo;
        auto agent = hub.agent();
        QSignalSpy registered(agent.get(), &AgentConnection::registered);
        agent->start();
        QVERIFY(registered.wait(10000));
        auto desktop = hub.desktop(kAgent);
        DatagramListener *listener = forwardDatagramsTo(*desktop, deafTarget.localPort());
        QVERIFY(listener);
        const quint16 tcpPort = forwardTo(*desktop, echo.serverPort());
        desktop->start();
        QVERIFY(waitConnected(*desktop));

        constexpr qint64 kSize = 16 * 1024 * 1024;
        QElapsedTimer elapsed;
        elapsed.start();
        {
            StreamPump quiet(tcpPort, kSize, 76);
            QTRY_VERIFY_WITH_TIMEOUT(quiet.bytesReceived() == kSize, 60000);
            QCOMPARE(quiet.receivedDigest(), StreamPump::expectedDigest(kSize, 76));
        }
        const qint64 quietMs = elapsed.elapsed();

        UdpFlood flood(listener->serverPort(), 1400, 10000);
        QTRY_VERIFY(listener->flowCount() == 1);
        StreamPump pump(tcpPort, kSize, 77);
        elapsed.restart();
        qint64 maxHubBacklog = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const TunnelSession *session : hub.server->sessions())
                    maxHubBacklog = qMax(maxHubBacklog, session->transportBacklog());
                return pump.bytesReceived() == kSize;
            }(),
            60000);
        const qint64 floodedMs = elapsed.elapsed();
        const bool floodStillRunning = !flood.done();
        flood.stop();
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(kSize, 77));

        Channel *flow = listener->channels().first();
        Drops hubDropped;
        for (const TunnelSession *session : hub.server->sessions()) {
            const Drops drops = datagramsDropped(session);
            hubDropped.in += drops.in;
            hubDropped.out += drops.out;
        }
        const Drops agentDropped = datagramsDropped(agent->client()->session());
        qInfo(
            "flood through the hub: %d datagrams sent, %llu carried by the desktop, dropped %llu "
            "by the desktop, %llu by the hub (%llu not taken by its relay queues, %llu not sent), "
            "%llu by the agent; TCP moved 16 MiB in %lld ms%s (%lld ms without the flood); "
            "highest link backlog of the hub %lld KiB",
            flood.sent(), flow->datagramsOut(), listener->datagramsDropped(),
            hubDropped.in + hubDropped.out, hubDropped.in, hubDropped.out,
            agentDropped.in + agentDropped.out, floodedMs,
            floodStillRunning ? " while the flood went on" : "", quietMs, maxHubBacklog / 1024);
        QVERIFY(floodStillRunning);
        QVERIFY(flow->datagramsOut() > 0);
        QVERIFY(listener->datagramsDropped() + hubDropped.in + hubDropped.out + agentDropped.in +
                    agentDropped.out >
                0);
        QVERIFY(maxHubBacklog <= SessionLimits().writeWatermark + 2 * 512 * 1024);
    }

    // The active agent is gone: the flows through it move to the standby (their sources'
    // next datagrams are answered there), and new flows go there too.
    void udpFlowsGoThroughTheStandbyWhenTheActiveAgentIsGone()
    {
        Hub hub;
        QVERIFY(hub.listening);
        UdpEchoServer echo;
        auto first = hub.agent();
        QSignalSpy firstRegistered(first.get(), &AgentConnection::registered);
        first->start();
        QVERIFY(firstRegistered.wait(10000));
        auto second = hub.agent();
        QSignalSpy secondRegistered(second.get(), &AgentConnection::registered);
        QSignalSpy promoted(second.get(), &AgentConnection::promoted);
        second->start();
        QVERIFY(secondRegistered.wait(10000));

        auto desktop = hub.desktop(kAgent);
        DatagramListener *listener = forwardDatagramsTo(*desktop, echo.port());
        QVERIFY(listener);
        desktop->start();
        QVERIFY(waitConnected(*desktop));
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        QCOMPARE(exchange(client, QHostAddress::LocalHost, listener->serverPort(), "before"),
                 QByteArray("before"));
        QCOMPARE(listener->flowCount(), 1);
        QCOMPARE(second->client()->session()->datagramChannels(), 0);

        // Gone at once, as a killed process is; the hub holds its session for a resume.
        first.reset();
        QVERIFY(promoted.wait(10000));
        // The flow does not wait for a resume that will not come.
        QTRY_COMPARE_WITH_TIMEOUT(listener->flowCount(), 0, 10000);
        QCOMPARE(exchange(client, QHostAddress::LocalHost, listener->serverPort(), "same source"),
                 QByteArray("same source"));
        QUdpSocket fresh;
        QVERIFY(fresh.bind(QHostAddress::LocalHost, 0));
        QCOMPARE(exchange(fresh, QHostAddress::LocalHost, listener->serverPort(), "new source"),
                 QByteArray("new source"));
        QCOMPARE(second->client()->session()->datagramChannels(), 2);
        QCOMPARE(echo.datagramsReceived(), 3);
    }

    // The active agent loses its link while a standby is there: the standby takes over, and the
    // held agent, once it resumes, serves on as a standby.
    void aDemotedAgentResumesAsAStandby()
    {
        Hub hub;
        QVERIFY(hub.listening);
        CuttableRelay relay(hub.server->serverPort());
        auto first = hub.agentThrough(relay);
        QSignalSpy firstRegistered(first.get(), &AgentConnection::registered);
        first->start();
        QVERIFY(firstRegistered.wait(10000));
        TunnelSession *firstSession = hub.server->registry().active(kAgent);
        QVERIFY(firstSession);
        auto second = hub.agent();
        QSignalSpy secondRegistered(second.get(), &AgentConnection::registered);
        QSignalSpy promoted(second.get(), &AgentConnection::promoted);
        second->start();
        QVERIFY(secondRegistered.wait(10000));
        TunnelSession *secondSession = hub.server->registry().agents().last().session;

        relay.goDown();
        QVERIFY(promoted.wait(10000));
        QTRY_VERIFY(firstSession->isHeld());
        QCOMPARE(hub.server->registry().active(kAgent), secondSession);

        QVERIFY(relay.restore());
        QTRY_VERIFY_WITH_TIMEOUT(!firstSession->isHeld(), 20000);
        QTRY_COMPARE(first->state(), AgentState::Standby);
        QCOMPARE(hub.server->registry().active(kAgent), secondSession);
        const QList<AgentRegistry::Agent> agents = hub.server->registry().agents();
        QCOMPARE(agents.size(), qsizetype(2));
        QCOMPARE(agents.last().session.data(), firstSession);
        QVERIFY(!hub.server->registry().isDemoted(firstSession));
    }

    // The active agent loses its link while a standby is there, and then the standby goes too:
    // the held agent is not made active again while it is held (connections would only wait for
    // it), but it is once it resumes, as no other instance is left.
    void aDemotedAgentIsNotActiveAgainWhileHeld()
    {
        Hub hub;
        QVERIFY(hub.listening);
        EchoServer echo;
        CuttableRelay relay(hub.server->serverPort());
        auto first = hub.agentThrough(relay);
        QSignalSpy firstRegistered(first.get(), &AgentConnection::registered);
        QSignalSpy firstPromoted(first.get(), &AgentConnection::promoted);
        first->start();
        QVERIFY(firstRegistered.wait(10000));
        TunnelSession *firstSession = hub.server->registry().active(kAgent);
        auto second = hub.agent();
        QSignalSpy secondRegistered(second.get(), &AgentConnection::registered);
        QSignalSpy secondPromoted(second.get(), &AgentConnection::promoted);
        second->start();
        QVERIFY(secondRegistered.wait(10000));
        auto desktop = hub.desktop(kAgent);
        const quint16 port = forwardTo(*desktop, echo.serverPort());
        desktop->start();
        QVERIFY(waitConnected(*desktop));

        relay.goDown();
        QVERIFY(secondPromoted.wait(10000));
        QTRY_VERIFY(firstSession->isHeld());
        // The standby leaves for good (a clean stop, not a drop).
        second->stop();
        QTRY_COMPARE(hub.server->registry().agents().size(), qsizetype(1));
        QVERIFY(firstSession->isHeld());
        QCOMPARE(hub.server->registry().active(kAgent), nullptr);
        QTcpSocket refused;
        refused.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(refused.waitForConnected(5000));
        QTRY_COMPARE_WITH_TIMEOUT(refused.state(), QAbstractSocket::UnconnectedState, 10000);

        QVERIFY(relay.restore());
        QVERIFY(firstPromoted.wait(20000));
        QCOMPARE(first->state(), AgentState::Active);
        QCOMPARE(hub.server->registry().active(kAgent), firstSession);
        QCOMPARE(exchange(port, "after the resume"), QByteArray("after the resume"));
    }
};

QTEST_GUILESS_MAIN(HubTest)
#include "tst_hub.moc"
