// A hub's relay over in-memory pipes, no sockets: a desktop session and agent sessions joined to
// the hub's sessions for them by pipes, with the hub's own classes in between (AgentRegistry,
// DesktopRelay, ReverseRoutePolicy, ChannelRelay, RelayEndpoint). Targets behind the agents and
// on the desktop are MemoryEndpoints the test plays.
#include "MemoryEndpoint.h"
#include "MemoryTargetPolicy.h"
#include "hub/AgentRegistry.h"
#include "hub/DesktopRelay.h"
#include "hub/ReverseRoutePolicy.h"
#include "link/PipeLink.h"
#include "session/TunnelSession.h"

#include <QPointer>
#include <QSignalSpy>
#include <QTest>

#include <memory>
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
struct HubChain
{
    explicit HubChain(const SessionLimits &limits = smallLimits())
        : limits(limits)
    {
        auto [desktopLink, hubLink] = PipeLink::createPair();
        desktop = std::make_unique<TunnelSession>(desktopLink, TunnelSession::Role::Dialer, limits);
        desktop->setTargetPolicy(desktopPolicy);
        hubDesktop =
            std::make_unique<TunnelSession>(hubLink, TunnelSession::Role::Acceptor, limits);
        hubDesktop->setLocalCapabilities(Capability::AcceptsListen | Capability::Relay);
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
    AgentEnd *addAgent()
    {
        auto end = std::make_unique<AgentEnd>();
        auto [hubLink, agentLink] = PipeLink::createPair();
        end->hubSide =
            std::make_unique<TunnelSession>(hubLink, TunnelSession::Role::Acceptor, limits);
        end->hubSide->setLocalCapabilities(Capability::Relay);
        end->hubSide->setTargetPolicy(
            std::make_shared<ReverseRoutePolicy>(&registry, end->hubSide.get(), kAgentName));
        end->agent =
            std::make_unique<TunnelSession>(agentLink, TunnelSession::Role::Dialer, limits);
        end->agent->setLocalCapabilities(Capability::AcceptsListen);
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
