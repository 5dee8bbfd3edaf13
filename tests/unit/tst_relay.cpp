// A hub's relay over in-memory pipes, no sockets: a desktop session and agent sessions joined to
// the hub's sessions for them by pipes, with the hub's own classes in between (AgentRegistry,
// DesktopRelay, ReverseRoutePolicy, ChannelRelay, RelayEndpoint). Targets behind the agents and
// on the desktop are MemoryEndpoints (MemoryDatagramEndpoints for UDP flows) the test plays.
#include "MemoryDatagramEndpoint.h"
#include "MemoryEndpoint.h"
#include "MemoryTargetPolicy.h"
#include "hub/AgentRegistry.h"
#include "hub/DesktopRelay.h"
#include "hub/RelayEndpoint.h"
#include "hub/ReverseRoutePolicy.h"
#include "link/PipeLink.h"
#include "session/TunnelSession.h"

#include <QPointer>
#include <QSignalSpy>
#include <QTest>

#include <memory>
#include <optional>
#include <vector>

using namespace wstunnel;

namespace {

const QString kAgentName = QStringLiteral("devbox");

SessionLimits smallLimits()
{
    SessionLimits limits;
    limits.receiveWindow = 64 * 1024;
    limits.chunkSize = 16 * 1024;
    limits.writeWatermark = 256 * 1024;
    return limits;
}

// What a target endpoint took, or nothing once it is gone (its channel failed).
QByteArray writtenTo(const QPointer<MemoryEndpoint> &endpoint)
{
    return endpoint ? endpoint->written() : QByteArray();
}

QByteArray pattern(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 251);
    return bytes;
}

// One agent: its own session, and the hub's session for it, joined by a pipe.
struct AgentEnd
{
    std::unique_ptr<TunnelSession> hubSide;
    std::unique_ptr<TunnelSession> agent;
    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
};

// desktop <-pipe-> hub (desktop side) ... hub (agent side) <-pipe-> agent, for every agent.
// The sessions announce what HubServer, AgentConnection and TunnelClient have theirs announce.
struct HubChain
{
    // hubLimits are the hub's sessions' own, limits those of the desktop and (unless agentLimits
    // is set before addAgent) the agents.
    explicit HubChain(const SessionLimits &limits = smallLimits(),
                      std::optional<SessionLimits> hubLimits = std::nullopt)
        : limits(limits)
        , hubLimits(hubLimits.value_or(limits))
        , agentLimits(limits)
    {
        auto [desktopLink, hubLink] = PipeLink::createPair();
        desktop = std::make_unique<TunnelSession>(desktopLink, TunnelSession::Role::Dialer, limits);
        desktop->setLocalCapabilities(Capability::DatagramChannels);
        desktop->setTargetPolicy(desktopPolicy);
        hubDesktop = std::make_unique<TunnelSession>(hubLink, TunnelSession::Role::Acceptor,
                                                     this->hubLimits);
        hubDesktop->setLocalCapabilities(Capability::AcceptsListen | Capability::DatagramChannels |
                                         Capability::Relay);
        auto *relay = new DesktopRelay(hubDesktop.get(), kAgentName, &registry);
        hubDesktop->setTargetPolicy(relay->policy());
        QObject::connect(desktop.get(), &TunnelSession::agentStatusReceived, desktop.get(),
                         [this](AgentState state, const QString &, const QString &address) {
                             statuses.append({state, address});
                         });
    }

    bool start()
    {
        desktop->start(QStringLiteral("desktop"));
        hubDesktop->start(QStringLiteral("hub"));
        return QTest::qWaitFor([this] { return desktop->isReady() && hubDesktop->isReady(); });
    }

    // Connects another agent of the name and registers it, as HubServer does once it is ready.
    // An agent older than UDP relaying announces no datagram channels.
    AgentEnd *addAgent(bool carriesUdp = true)
    {
        auto end = std::make_unique<AgentEnd>();
        auto [hubLink, agentLink] = PipeLink::createPair();
        end->hubSide =
            std::make_unique<TunnelSession>(hubLink, TunnelSession::Role::Acceptor, hubLimits);
        end->hubSide->setLocalCapabilities(Capability::DatagramChannels | Capability::Relay);
        end->hubSide->setTargetPolicy(
            std::make_shared<ReverseRoutePolicy>(&registry, end->hubSide.get(), kAgentName));
        end->agent =
            std::make_unique<TunnelSession>(agentLink, TunnelSession::Role::Dialer, agentLimits);
        end->agent->setLocalCapabilities(carriesUdp ? Capability::AcceptsListen |
                                                          Capability::DatagramChannels
                                                    : Capabilities(Capability::AcceptsListen));
        end->agent->setTargetPolicy(end->policy);
        TunnelSession *hubSide = end->hubSide.get();
        QObject::connect(hubSide, &TunnelSession::closed, hubSide,
                         [this, hubSide] { registry.remove(hubSide); });
        end->hubSide->start(QStringLiteral("hub"));
        end->agent->start(QStringLiteral("agent"));
        if (!QTest::qWaitFor([&] { return end->hubSide->isReady() && end->agent->isReady(); }))
            return nullptr;
        registry.add(kAgentName, hubSide);
        agents.push_back(std::move(end));
        return agents.back().get();
    }

    // Opens a channel from the desktop and waits until every hop has it open.
    Channel *open(AgentEnd *agent, QPointer<MemoryEndpoint> *local,
                  QPointer<MemoryEndpoint> *target)
    {
        auto *endpoint = new MemoryEndpoint;
        Channel *channel = desktop->openChannel(endpoint, QStringLiteral("db"), 5432);
        const int before = int(agent->policy->endpoints.size());
        if (!channel ||
            !QTest::qWaitFor([&] { return channel->state() == Channel::State::Open; }) ||
            agent->policy->endpoints.size() != before + 1)
            return nullptr;
        *local = endpoint;
        *target = agent->policy->endpoints.last();
        return channel;
    }

    // Opens a UDP flow from the desktop and waits until every hop has it open.
    Channel *openFlow(AgentEnd *agent, QPointer<MemoryDatagramEndpoint> *local,
                      QPointer<MemoryDatagramEndpoint> *target)
    {
        auto *endpoint = new MemoryDatagramEndpoint;
        Channel *channel = desktop->openChannel(endpoint, QStringLiteral("dns"), 53);
        const int before = int(agent->policy->datagramEndpoints.size());
        if (!channel ||
            !QTest::qWaitFor([&] { return channel->state() == Channel::State::Open; }) ||
            agent->policy->datagramEndpoints.size() != before + 1)
            return nullptr;
        *local = endpoint;
        *target = agent->policy->datagramEndpoints.last();
        return channel;
    }

    // What the hub holds for its channels: payload received and not yet taken on, and what waits
    // on its links.
    quint64 hubBuffered() const
    {
        quint64 total = hubDesktop->bufferedBytes() + quint64(hubDesktop->transportBacklog());
        for (const auto &agent : agents)
            total += agent->hubSide->bufferedBytes() + quint64(agent->hubSide->transportBacklog());
        return total;
    }

    SessionLimits limits;
    SessionLimits hubLimits;
    SessionLimits agentLimits;
    AgentRegistry registry; // outlives the sessions that refer to it
    std::shared_ptr<MemoryTargetPolicy> desktopPolicy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<TunnelSession> desktop;
    std::unique_ptr<TunnelSession> hubDesktop;
    std::vector<std::unique_ptr<AgentEnd>> agents;
    QList<QPair<AgentState, QString>> statuses;
};

ChannelSummary lastSummary(const QSignalSpy &spy)
{
    return spy.last().first().value<ChannelSummary>();
}

// What a datagram endpoint took, or nothing once it is gone.
QList<QByteArray> datagramsTo(const QPointer<MemoryDatagramEndpoint> &endpoint)
{
    return endpoint ? endpoint->written() : QList<QByteArray>();
}

} // namespace

class RelayTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bytesPassBothWaysAndEveryHopFinishes()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QSignalSpy agentClosed(agent->agent.get(), &TunnelSession::channelClosed);
        QPointer<MemoryEndpoint> local;
        QPointer<MemoryEndpoint> target;
        QVERIFY(chain.open(agent, &local, &target));

        const QByteArray request = pattern(300 * 1024, 'r');
        const QByteArray answer = pattern(200 * 1024, 'a');
        local->feed(request);
        target->feed(answer);
        QTRY_COMPARE(writtenTo(target), request);
        QTRY_COMPARE(writtenTo(local), answer);
        local->finishInput();
        QTRY_VERIFY(target->isWriteShut());
        // Both fins through: every hop's channel finishes, and with it goes its endpoint.
        target->finishInput();

        QTRY_COMPARE(desktopClosed.size(), 1);
        QTRY_COMPARE(agentClosed.size(), 1);
        QCOMPARE(lastSummary(desktopClosed).error, QString());
        QCOMPARE(lastSummary(agentClosed).error, QString());
        QTRY_VERIFY(chain.hubDesktop->channels().isEmpty());
        QTRY_VERIFY(agent->hubSide->channels().isEmpty());
    }

    // A reader that stops reading on one side holds the sender on the other side back; the hub
    // keeps one window of that channel, however much the sender has to send.
    void aSlowReaderBoundsWhatTheHubHolds_data()
    {
        QTest::addColumn<bool>("readerBehindAgent");
        QTest::newRow("reader behind the agent") << true;
        QTest::newRow("reader on the desktop") << false;
    }

    void aSlowReaderBoundsWhatTheHubHolds()
    {
        QFETCH(bool, readerBehindAgent);
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QPointer<MemoryEndpoint> local;
        QPointer<MemoryEndpoint> target;
        Channel *channel = chain.open(agent, &local, &target);
        QVERIFY(channel);
        QPointer<MemoryEndpoint> reader = readerBehindAgent ? target : local;
        QPointer<MemoryEndpoint> writer = readerBehindAgent ? local : target;
        reader->setStalled(true);

        const quint64 window = chain.limits.receiveWindow;
        const QByteArray bytes = pattern(32 * int(window), 's');
        writer->feed(bytes);
        // The reader's end takes one window; the hub holds the next one for the writer's
        // channel, and then no hop has credit left.
        QTRY_COMPARE(quint64(reader->queued()), window);
        QTRY_COMPARE(chain.hubBuffered(), window);
        QVERIFY(!QTest::qWaitFor([&] { return chain.hubBuffered() > window; }, 300));
        QCOMPARE(chain.hubBuffered(), window);
        QCOMPARE(quint64(reader->queued()), window);
        // The rest waits unread at the writer, not in any process in between.
        Channel *writerChannel =
            readerBehindAgent ? channel : agent->agent->channels().constFirst();
        QCOMPARE(writerChannel->bytesOut(), 2 * window);
        QVERIFY(!writer->isReadEnabled());

        reader->setStalled(false);
        QTRY_COMPARE(writtenTo(reader).size(), bytes.size());
        QCOMPARE(writtenTo(reader), bytes);
        QTRY_COMPARE(chain.hubBuffered(), quint64(0));
    }

    void aLostAgentResetsItsChannelsWithAReasonNamingIt()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QPointer<MemoryEndpoint> local;
        QPointer<MemoryEndpoint> target;
        QVERIFY(chain.open(agent, &local, &target));

        qobject_cast<PipeLink *>(agent->agent->link())->cut(QStringLiteral("connection lost"));
        QTRY_COMPARE(desktopClosed.size(), 1);
        const QString error = lastSummary(desktopClosed).error;
        QVERIFY2(error.contains(QStringLiteral("agent devbox at")) &&
                     error.contains(QStringLiteral("connection lost")),
                 qPrintable(error));
        // Aborted, or gone already with its channel.
        QVERIFY(!local || local->isAborted());
        QTRY_VERIFY(chain.hubDesktop->channels().isEmpty());
        // The desktop hears that nobody serves the name now.
        QTRY_COMPARE(chain.statuses.last().first, AgentState::Absent);
    }

    void theAgentsRefusalReachesTheDesktop_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<bool>("refuseConnect");
        QTest::addColumn<QString>("reason");
        QTest::newRow("not in the agent's allow-list")
            << QStringLiteral("denied") << false << QStringLiteral("not in the allow-list");
        QTest::newRow("refused behind the agent")
            << QStringLiteral("db") << true << QStringLiteral("connection refused");
    }

    void theAgentsRefusalReachesTheDesktop()
    {
        QFETCH(QString, host);
        QFETCH(bool, refuseConnect);
        QFETCH(QString, reason);
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        if (refuseConnect)
            agent->policy->outcome = MemoryEndpoint::ConnectOutcome::Refuse;
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QPointer<MemoryEndpoint> local = new MemoryEndpoint;
        Channel *channel = chain.desktop->openChannel(local.data(), host, 5432);
        QVERIFY(channel);
        QTRY_COMPARE(desktopClosed.size(), 1);
        const QString error = lastSummary(desktopClosed).error;
        QVERIFY2(error.contains(reason) && error.contains(QStringLiteral("agent devbox at")),
                 qPrintable(error));
        // Aborted, or gone already with its channel.
        QVERIFY(!local || local->isAborted());
        QTRY_VERIFY(chain.hubDesktop->channels().isEmpty());
        QTRY_VERIFY(agent->hubSide->channels().isEmpty());
    }

    void withoutAnAgentChannelsAreRefusedAndTheDesktopIsTold()
    {
        HubChain chain;
        QVERIFY(chain.start());
        QTRY_COMPARE(chain.statuses.size(), qsizetype(1));
        QCOMPARE(chain.statuses.first().first, AgentState::Absent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QPointer<MemoryEndpoint> local = new MemoryEndpoint;
        QVERIFY(chain.desktop->openChannel(local.data(), QStringLiteral("db"), 5432));
        QTRY_COMPARE(desktopClosed.size(), 1);
        QCOMPARE(lastSummary(desktopClosed).error,
                 QStringLiteral("no agent named devbox is connected to the hub"));
        // Aborted, or gone already with its channel.
        QVERIFY(!local || local->isAborted());

        // An agent that registers later serves the next channel, and the desktop hears of it.
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QTRY_COMPARE(chain.statuses.last().first, AgentState::Active);
        QPointer<MemoryEndpoint> target;
        QVERIFY(chain.open(agent, &local, &target));
    }

    // The standby takes the name's channels at once when the active agent is gone, and the
    // desktop's reverse forward listens again there; a port that differs there is translated.
    void theStandbyTakesOverChannelsAndReverseForwards()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *first = chain.addAgent();
        AgentEnd *second = chain.addAgent();
        QVERIFY(first && second);
        QCOMPARE(chain.registry.active(kAgentName), first->hubSide.get());

        QSignalSpy firstListen(first->agent.get(), &TunnelSession::listenRequested);
        QSignalSpy secondListen(second->agent.get(), &TunnelSession::listenRequested);
        QSignalSpy answered(chain.desktop.get(), &TunnelSession::listenAnswered);
        const quint32 requestId = chain.desktop->requestListen(QStringLiteral("127.0.0.1"), 0);
        QVERIFY(requestId != 0);
        QTRY_COMPARE(firstListen.size(), 1);
        QCOMPARE(secondListen.size(), 0);
        first->agent->answerListen(firstListen.first().at(0).toUInt(), 4321);
        QTRY_COMPARE(answered.size(), 1);
        QCOMPARE(answered.first().at(1).toBool(), true);
        QCOMPARE(answered.first().at(2).toUInt(), 4321u);

        // A connection to the first agent's listener reaches the desktop.
        auto *visitor = new MemoryEndpoint;
        QVERIFY(first->agent->openChannel(visitor, QStringLiteral("127.0.0.1"), 4321));
        QTRY_COMPARE(chain.desktopPolicy->endpoints.size(), qsizetype(1));
        visitor->feed("over the first agent");
        QTRY_COMPARE(writtenTo(chain.desktopPolicy->endpoints.first()),
                     QByteArray("over the first agent"));

        qobject_cast<PipeLink *>(first->agent->link())->cut(QStringLiteral("connection lost"));
        QTRY_COMPARE(chain.registry.active(kAgentName), second->hubSide.get());
        QTRY_VERIFY(!chain.statuses.isEmpty() &&
                    chain.statuses.last().first == AgentState::Active &&
                    chain.statuses.last().second == second->hubSide->peerAddress());
        // The listener moves, asking for the port the desktop was told.
        QTRY_COMPARE(secondListen.size(), 1);
        QCOMPARE(secondListen.first().at(1).toString(), QStringLiteral("127.0.0.1"));
        QCOMPARE(secondListen.first().at(2).toUInt(), 4321u);
        second->agent->answerListen(secondListen.first().at(0).toUInt(), 5555);
        QVERIFY(!QTest::qWaitFor([&] { return answered.size() > 1; }, 100));

        auto *laterVisitor = new MemoryEndpoint;
        QVERIFY(second->agent->openChannel(laterVisitor, QStringLiteral("127.0.0.1"), 5555));
        QTRY_COMPARE(chain.desktopPolicy->endpoints.size(), qsizetype(2));
        laterVisitor->feed("over the second agent");
        QTRY_COMPARE(writtenTo(chain.desktopPolicy->endpoints.last()),
                     QByteArray("over the second agent"));

        QPointer<MemoryEndpoint> local;
        QPointer<MemoryEndpoint> target;
        QVERIFY(chain.open(second, &local, &target));
        local->feed("new channels go to the second agent");
        QTRY_COMPARE(writtenTo(target), QByteArray("new channels go to the second agent"));
    }

    void aUdpFlowKeepsItsDatagramsWholeBothWays()
    {
        // Windows of their usual size: the largest datagram does not fit what is left of a small
        // one before credit comes back, and would be dropped, as UDP may.
        HubChain chain{SessionLimits()};
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QPointer<MemoryDatagramEndpoint> local;
        QPointer<MemoryDatagramEndpoint> target;
        Channel *channel = chain.openFlow(agent, &local, &target);
        QVERIFY(channel);
        QList<QByteArray> requests;
        QList<QByteArray> answers;
        for (const int size : {1, 512, 1472, 9000, int(protocol::kMaxDatagramSize)}) {
            requests.append(pattern(size, 'q'));
            local->feed(requests.last());
            QTRY_COMPARE(datagramsTo(target), requests);
            answers.append(pattern(size, 'a'));
            target->feed(answers.last());
            QTRY_COMPARE(datagramsTo(local), answers);
        }
        // A burst of small ones, each whole and apart.
        for (int i = 1; i <= 20; ++i) {
            requests.append(pattern(i * 100, char(i)));
            local->feed(requests.last());
        }
        QTRY_COMPARE(datagramsTo(target), requests);
        // Every hop carried the flow as a datagram channel, and none dropped anything.
        const QList<Channel *> hops{channel, chain.hubDesktop->channels().constFirst(),
                                    agent->hubSide->channels().constFirst(),
                                    agent->agent->channels().constFirst()};
        for (const Channel *hop : hops) {
            QVERIFY(hop->isDatagram());
            QCOMPARE(hop->droppedIn() + hop->droppedOut(), quint64(0));
        }
        QCOMPARE(channel->datagramsOut(), quint64(requests.size()));
        QCOMPARE(channel->datagramsIn(), quint64(answers.size()));
    }

    // A UDP reverse forward and a TCP one on the same port number of the agent: each connection
    // or flow reaches the desktop over a channel of its own transport.
    void aReverseUdpForwardRelaysItsFlowsToTheDesktop()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy agentListens(agent->agent.get(), &TunnelSession::listenRequested);
        QSignalSpy answered(chain.desktop.get(), &TunnelSession::listenAnswered);
        const QString host = QStringLiteral("127.0.0.1");
        QVERIFY(chain.desktop->requestListen(host, 5353, ChannelTransport::Tcp) != 0);
        QVERIFY(chain.desktop->requestListen(host, 5353, ChannelTransport::Udp) != 0);
        QTRY_COMPARE(agentListens.size(), 2);
        QCOMPARE(agentListens.at(0).at(3).value<ChannelTransport>(), ChannelTransport::Tcp);
        QCOMPARE(agentListens.at(1).at(3).value<ChannelTransport>(), ChannelTransport::Udp);
        for (const QList<QVariant> &listen : std::as_const(agentListens))
            agent->agent->answerListen(listen.at(0).toUInt(), 5353);
        QTRY_COMPARE(answered.size(), 2);
        for (const QList<QVariant> &answer : std::as_const(answered))
            QVERIFY(answer.at(1).toBool());

        QPointer<MemoryDatagramEndpoint> visitor = new MemoryDatagramEndpoint;
        QVERIFY(agent->agent->openChannel(visitor.data(), host, 5353));
        QTRY_COMPARE(chain.desktopPolicy->datagramEndpoints.size(), qsizetype(1));
        QPointer<MemoryDatagramEndpoint> served = chain.desktopPolicy->datagramEndpoints.first();
        visitor->feed("query");
        visitor->feed(pattern(9000, 'v'));
        QTRY_COMPARE(datagramsTo(served), (QList<QByteArray>{"query", pattern(9000, 'v')}));
        served->feed("answer");
        QTRY_COMPARE(datagramsTo(visitor), QList<QByteArray>{"answer"});
        QVERIFY(chain.desktopPolicy->endpoints.isEmpty());

        auto *streamVisitor = new MemoryEndpoint;
        QVERIFY(agent->agent->openChannel(streamVisitor, host, 5353));
        QTRY_COMPARE(chain.desktopPolicy->endpoints.size(), qsizetype(1));
        streamVisitor->feed("a stream on the same port number");
        QTRY_COMPARE(writtenTo(chain.desktopPolicy->endpoints.first()),
                     QByteArray("a stream on the same port number"));
        QCOMPARE(chain.desktopPolicy->datagramEndpoints.size(), qsizetype(1));
    }

    // An agent older than UDP relaying announces no datagram channels: the desktop hears why its
    // flow or its UDP reverse forward cannot be served, and the agent sees nothing of either.
    void anAgentWithoutUdpIsNamedInTheRefusal()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent(false);
        QVERIFY(agent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QVERIFY(chain.desktop->openChannel(new MemoryDatagramEndpoint, QStringLiteral("dns"), 53));
        QTRY_COMPARE(desktopClosed.size(), 1);
        const QString error = lastSummary(desktopClosed).error;
        QVERIFY2(error.contains(QStringLiteral("agent devbox at")) &&
                     error.contains(QStringLiteral("does not carry UDP")),
                 qPrintable(error));

        QSignalSpy answered(chain.desktop.get(), &TunnelSession::listenAnswered);
        QVERIFY(chain.desktop->requestListen(QStringLiteral("127.0.0.1"), 0,
                                             ChannelTransport::Udp) != 0);
        QTRY_COMPARE(answered.size(), 1);
        QCOMPARE(answered.first().at(1).toBool(), false);
        QVERIFY2(answered.first().at(3).toString().contains(QStringLiteral("does not carry UDP")),
                 qPrintable(answered.first().at(3).toString()));
        QCOMPARE(agent->agent->channels().size(), qsizetype(0));
        QCOMPARE(agent->policy->datagramEndpoints.size(), qsizetype(0));
    }

    // The agent's hop is slow (its link holds everything): the hub sends a flow's datagrams only
    // while its link has room and drops the rest, counted, while a TCP channel beside the flow
    // waits and then arrives whole.
    void aFloodTheAgentsHopCannotTakeIsDroppedAtTheHub()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QPointer<MemoryDatagramEndpoint> local;
        QPointer<MemoryDatagramEndpoint> target;
        Channel *flow = chain.openFlow(agent, &local, &target);
        QVERIFY(flow);
        QPointer<MemoryEndpoint> streamLocal;
        QPointer<MemoryEndpoint> streamTarget;
        QVERIFY(chain.open(agent, &streamLocal, &streamTarget));
        auto flowOf = [](const TunnelSession &session) -> Channel * {
            for (Channel *channel : session.channels()) {
                if (channel->isDatagram())
                    return channel;
            }
            return nullptr;
        };
        Channel *hubIn = flowOf(*chain.hubDesktop);
        Channel *hubOut = flowOf(*agent->hubSide);
        QVERIFY(hubIn && hubOut);

        auto *agentHop = qobject_cast<PipeLink *>(agent->hubSide->link());
        agentHop->hold(true);
        const QByteArray stream = pattern(300 * 1024, 's');
        streamLocal->feed(stream);
        const QByteArray datagram = pattern(1400, 'f');
        constexpr int kDatagrams = 2000;
        for (int i = 0; i < kDatagrams; ++i)
            local->feed(datagram);
        QTRY_VERIFY(flow->datagramsOut() + flow->droppedOut() == quint64(kDatagrams));
        QTRY_VERIFY(hubIn->datagramsIn() + hubIn->droppedIn() == flow->datagramsOut());
        QTRY_VERIFY(hubOut->datagramsOut() + hubOut->droppedOut() == hubIn->datagramsIn());
        QVERIFY(hubOut->droppedOut() > 0);
        // Datagrams wait on the held hop only within the agent's window and half the link's
        // watermark; the stream within its own window.
        QVERIFY2(agent->hubSide->transportBacklog() <= chain.hubLimits.writeWatermark / 2 +
                                                           datagram.size() +
                                                           chain.agentLimits.receiveWindow,
                 qPrintable(QString::number(agent->hubSide->transportBacklog())));

        agentHop->hold(false);
        QTRY_COMPARE(writtenTo(streamTarget), stream);
        QTRY_COMPARE(quint64(datagramsTo(target).size()), hubOut->datagramsOut());
        qInfo("flood of %d datagrams: the desktop sent %llu, the hub carried %llu and dropped %llu",
              kDatagrams, flow->datagramsOut(), hubOut->datagramsOut(),
              hubIn->droppedIn() + hubOut->droppedOut());
        // The flow carries on.
        local->feed("after the flood");
        QTRY_COMPARE(datagramsTo(target).last(), QByteArray("after the flood"));
    }

    // The desktop's end of a flow goes idle long before the hub's and the agent's would: the
    // whole pair ends with it, an orderly end on every hop.
    void aFlowEndingIdleAtOneEndEndsOnEveryHop()
    {
        SessionLimits quick = smallLimits();
        quick.datagramIdleTimeoutMs = 200;
        HubChain chain(quick, smallLimits());
        chain.agentLimits = smallLimits();
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QSignalSpy agentClosed(agent->agent.get(), &TunnelSession::channelClosed);
        QPointer<MemoryDatagramEndpoint> local;
        QPointer<MemoryDatagramEndpoint> target;
        QVERIFY(chain.openFlow(agent, &local, &target));
        local->feed("ping");
        QTRY_COMPARE(datagramsTo(target).size(), qsizetype(1));

        QTRY_COMPARE(desktopClosed.size(), 1);
        QTRY_COMPARE(agentClosed.size(), 1);
        QCOMPARE(lastSummary(desktopClosed).error, QString());
        QCOMPARE(lastSummary(agentClosed).error, QString());
        QTRY_VERIFY(chain.hubDesktop->channels().isEmpty());
        QTRY_VERIFY(agent->hubSide->channels().isEmpty());
    }

    // The hub's session for the desktop takes two flows: a third evicts the first, on every hop.
    void aFlowEvictedAtTheHubEndsOnEveryHop()
    {
        SessionLimits hubLimits = smallLimits();
        hubLimits.maxDatagramChannels = 2;
        HubChain chain(smallLimits(), hubLimits);
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QSignalSpy agentClosed(agent->agent.get(), &TunnelSession::channelClosed);
        QPointer<MemoryDatagramEndpoint> locals[3];
        QPointer<MemoryDatagramEndpoint> targets[3];
        for (int i = 0; i < 3; ++i)
            QVERIFY(chain.openFlow(agent, &locals[i], &targets[i]));

        QTRY_COMPARE(desktopClosed.size(), 1);
        QTRY_COMPARE(agentClosed.size(), 1);
        QVERIFY2(lastSummary(desktopClosed).error.contains(QStringLiteral("evicted")),
                 qPrintable(lastSummary(desktopClosed).error));
        QVERIFY2(lastSummary(agentClosed).error.contains(QStringLiteral("evicted")),
                 qPrintable(lastSummary(agentClosed).error));
        QVERIFY(!targets[0] || targets[0]->isAborted());
        QTRY_COMPARE(agent->hubSide->datagramChannels(), 2);
        for (int i = 1; i < 3; ++i) {
            locals[i]->feed("still here");
            QTRY_COMPARE(datagramsTo(targets[i]), QList<QByteArray>{"still here"});
        }
    }

    // The active agent is gone: its flows end with a reason naming it, and a new flow goes to
    // the standby.
    void newFlowsGoToTheStandbyWhenTheActiveAgentIsGone()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *first = chain.addAgent();
        AgentEnd *second = chain.addAgent();
        QVERIFY(first && second);
        QSignalSpy desktopClosed(chain.desktop.get(), &TunnelSession::channelClosed);
        QPointer<MemoryDatagramEndpoint> local;
        QPointer<MemoryDatagramEndpoint> target;
        QVERIFY(chain.openFlow(first, &local, &target));

        qobject_cast<PipeLink *>(first->agent->link())->cut(QStringLiteral("connection lost"));
        QTRY_COMPARE(desktopClosed.size(), 1);
        QVERIFY2(lastSummary(desktopClosed).error.contains(QStringLiteral("agent devbox at")),
                 qPrintable(lastSummary(desktopClosed).error));
        QTRY_COMPARE(chain.registry.active(kAgentName), second->hubSide.get());

        QPointer<MemoryDatagramEndpoint> laterLocal;
        QPointer<MemoryDatagramEndpoint> laterTarget;
        QVERIFY(chain.openFlow(second, &laterLocal, &laterTarget));
        laterLocal->feed("through the standby");
        QTRY_COMPARE(datagramsTo(laterTarget), QList<QByteArray>{"through the standby"});
        laterTarget->feed("from the standby");
        QTRY_COMPARE(datagramsTo(laterLocal), QList<QByteArray>{"from the standby"});
    }

    void anAgentOpensChannelsOnlyForReverseForwards()
    {
        HubChain chain;
        QVERIFY(chain.start());
        AgentEnd *agent = chain.addAgent();
        QVERIFY(agent);
        QSignalSpy agentClosed(agent->agent.get(), &TunnelSession::channelClosed);
        auto *intruder = new MemoryEndpoint;
        QVERIFY(agent->agent->openChannel(intruder, QStringLiteral("127.0.0.1"), 22));
        QTRY_COMPARE(agentClosed.size(), 1);
        QVERIFY2(lastSummary(agentClosed).error.contains(QStringLiteral("no desktop asked")),
                 qPrintable(lastSummary(agentClosed).error));
        QVERIFY(chain.desktopPolicy->endpoints.isEmpty());
    }
};

QTEST_GUILESS_MAIN(RelayTest)
#include "tst_relay.moc"
