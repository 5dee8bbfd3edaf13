// Datagram channels (UDP flows) and the session around them, over an in-memory pipe link: whole
// datagrams each way, drops instead of queues, idle expiry on either end, eviction at the cap,
// and malformed datagram messages. No sockets: MemoryDatagramEndpoints play the applications.
#include "MemoryDatagramEndpoint.h"
#include "MemoryEndpoint.h"
#include "MemoryTargetPolicy.h"
#include "link/PipeLink.h"
#include "protocol/MessageCodec.h"
#include "session/TunnelSession.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace wstunnel;

namespace {

SessionLimits testLimits()
{
    SessionLimits limits;
    limits.receiveWindow = 64 * 1024;
    limits.chunkSize = 16 * 1024;
    limits.writeWatermark = 256 * 1024;
    return limits;
}

QByteArray datagram(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 251);
    return bytes;
}

// A dialer and an acceptor that carries UDP, joined by a pipe, as a desktop and a remote are.
struct FlowPair
{
    explicit FlowPair(const SessionLimits &dialerLimits = testLimits(),
                      const SessionLimits &acceptorLimits = testLimits())
    {
        auto [dialerLink, acceptorLink] = PipeLink::createPair();
        dialer =
            std::make_unique<TunnelSession>(dialerLink, TunnelSession::Role::Dialer, dialerLimits);
        acceptor = std::make_unique<TunnelSession>(acceptorLink, TunnelSession::Role::Acceptor,
                                                   acceptorLimits);
        acceptor->setLocalCapabilities(Capability::AcceptsListen | Capability::DatagramChannels);
        acceptor->setTargetPolicy(policy);
    }

    bool start()
    {
        dialer->start(QStringLiteral("desktop"));
        acceptor->start(QStringLiteral("remote"));
        return QTest::qWaitFor([this] { return dialer->isReady() && acceptor->isReady(); });
    }

    // Opens a flow from the dialer and waits until both ends have it open.
    Channel *open(MemoryDatagramEndpoint **local, MemoryDatagramEndpoint **target)
    {
        auto *endpoint = new MemoryDatagramEndpoint;
        const qsizetype before = policy->datagramEndpoints.size();
        Channel *channel = dialer->openChannel(endpoint, QStringLiteral("dns"), 53);
        const bool open = channel && QTest::qWaitFor([&] {
                              return channel->state() == Channel::State::Open &&
                                     policy->datagramEndpoints.size() == before + 1 &&
                                     remoteChannel(channel->id()) &&
                                     remoteChannel(channel->id())->state() == Channel::State::Open;
                          });
        if (!open)
            return nullptr;
        *local = endpoint;
        *target = policy->datagramEndpoints.last();
        return channel;
    }

    Channel *remoteChannel(quint32 id) const
    {
        for (Channel *channel : acceptor->channels()) {
            if (channel->id() == id)
                return channel;
        }
        return nullptr;
    }

    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<TunnelSession> dialer;
    std::unique_ptr<TunnelSession> acceptor;
};

// A session that carries UDP; the test plays its dialing peer with raw messages.
struct RawDialer
{
    RawDialer()
    {
        auto [sessionLink, peerLink] = PipeLink::createPair();
        link = peerLink;
        session = std::make_unique<TunnelSession>(sessionLink, TunnelSession::Role::Acceptor,
                                                  testLimits());
        session->setLocalCapabilities(Capability::DatagramChannels);
        session->setTargetPolicy(policy);
        QObject::connect(link, &Link::messageReceived, link, [this](QByteArrayView bytes) {
            const MessageCodec::DecodeResult decoded = MessageCodec::decode(bytes, 1 << 24);
            if (decoded.message)
                received.append(decoded.message->type);
        });
        QObject::connect(session.get(), &TunnelSession::closed, session.get(),
                         [this](const QString &reason) { closeReason = reason; });
        session->start(QStringLiteral("under test"));
        link->send(MessageCodec::hello(1, protocol::kVersion, 1024 * 1024, QStringLiteral("raw")));
        link->send(MessageCodec::capabilities(0));
    }

    bool waitFor(MessageType type)
    {
        return QTest::qWaitFor([this, type] { return received.contains(type); });
    }

    // The session owns its end of the pipe; the test's end has no owner but this.
    ~RawDialer()
    {
        session.reset();
        delete link;
    }

    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<TunnelSession> session;
    QPointer<PipeLink> link;
    QList<MessageType> received;
    QString closeReason;
};

} // namespace

class DatagramChannelTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void datagramsKeepTheirBoundaries()
    {
        FlowPair pair;
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        QVERIFY(channel->isDatagram());
        QCOMPARE(channel->target(), QStringLiteral("dns:53/udp"));
        QList<QByteArray> sent;
        QList<QByteArray> replies;
        for (const int size : {1, 512, 1472, 9000, 16384, protocol::kMaxDatagramSize}) {
            sent.append(datagram(size, 'q'));
            local->feed(sent.last());
            QTRY_COMPARE(target->written(), sent);
            replies.append(datagram(size, 'r'));
            target->feed(replies.last());
            QTRY_COMPARE(local->written(), replies);
        }
        QCOMPARE(channel->datagramsOut(), quint64(sent.size()));
        QCOMPARE(channel->datagramsIn(), quint64(replies.size()));
        QCOMPARE(channel->droppedOut() + channel->droppedIn(), quint64(0));
    }

    // The early window (16 KiB) carries the first datagrams with the open; what does not fit waits
    // for open-ok, up to one largest datagram, in order; beyond that it is dropped.
    void datagramsBeyondTheEarlyWindowWaitForOpenOk()
    {
        FlowPair pair;
        pair.policy->outcome = MemoryEndpoint::ConnectOutcome::Never;
        QVERIFY(pair.start());
        auto *local = new MemoryDatagramEndpoint;
        Channel *channel = pair.dialer->openChannel(local, QStringLiteral("dns"), 53);
        QVERIFY(channel);
        const QList<QByteArray> first = {datagram(100, 'a'), datagram(40000, 'b'),
                                         datagram(10, 'c')};
        for (const QByteArray &bytes : first)
            local->feed(bytes);
        local->feed(datagram(protocol::kMaxDatagramSize, 'd'));
        QTRY_COMPARE(pair.policy->datagramEndpoints.size(), qsizetype(1));
        QTRY_COMPARE(channel->droppedOut(), quint64(1));
        QCOMPARE(channel->state(), Channel::State::Opening);
        MemoryDatagramEndpoint *target = pair.policy->datagramEndpoints.first();
        QVERIFY(target->written().isEmpty());

        target->completeConnect();
        QTRY_COMPARE(target->written(), first);
        QCOMPARE(channel->state(), Channel::State::Open);
    }

    // The peer's window and the link's backlog bound what is in flight; the source is read on
    // regardless and what does not fit is dropped and counted, never queued.
    void whatDoesNotFitTheWindowIsDroppedAndCounted()
    {
        FlowPair pair;
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        // 20 datagrams of 8 KiB read in one go: the 64 KiB window takes 8 of them.
        for (int i = 0; i < 20; ++i)
            local->feed(datagram(8192, char('a' + i)));
        QTRY_COMPARE(channel->datagramsOut() + channel->droppedOut(), quint64(20));
        QCOMPARE(channel->datagramsOut(), quint64(8));
        QCOMPARE(channel->droppedOut(), quint64(12));
        QTRY_COMPARE(target->written().size(), qsizetype(8));
        for (int i = 0; i < 8; ++i)
            QCOMPARE(target->written().at(i), datagram(8192, char('a' + i)));
        QVERIFY(local->isReadEnabled());
        // Credit came back: the flow goes on.
        local->feed(datagram(8192, 'z'));
        QTRY_COMPARE(target->written().size(), qsizetype(9));
    }

    void whatDoesNotFitTheLinkIsDroppedAndCounted()
    {
        SessionLimits limits = testLimits();
        limits.receiveWindow = 4 * 1024 * 1024;
        FlowPair pair(limits, limits);
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        auto *link = qobject_cast<PipeLink *>(pair.dialer->link());
        link->hold(true);
        const int fed = 100;
        for (int i = 0; i < fed; ++i)
            local->feed(datagram(4096, char(i)));
        QTRY_COMPARE(channel->datagramsOut() + channel->droppedOut(), quint64(fed));
        // Datagrams fill at most half the watermark, whatever the window allows.
        QVERIFY(link->backlog() <= limits.writeWatermark / 2 + 4096 + protocol::kDataHeaderSize);
        QVERIFY(channel->droppedOut() > 0);
        QVERIFY(local->isReadEnabled());
        link->hold(false);
        QTRY_COMPARE(quint64(target->written().size()), channel->datagramsOut());
        for (int i = 0; i < target->written().size(); ++i)
            QCOMPARE(target->written().at(i), datagram(4096, char(i)));
    }

    // A datagram the target's socket could not take is lost, but counts as consumed: credit goes
    // on, so the flow never stalls behind a target that drops.
    void creditReturnsForDatagramsTheTargetDropped()
    {
        FlowPair pair;
        pair.policy->dropping = true;
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        Channel *remote = pair.remoteChannel(channel->id());
        const int count = 3 * 64 / 8; // three windows' worth
        for (int i = 0; i < count; ++i) {
            local->feed(datagram(8192, 'x'));
            QTRY_COMPARE(remote->droppedIn(), quint64(i + 1));
        }
        QCOMPARE(channel->droppedOut(), quint64(0));
        QCOMPARE(remote->datagramsIn(), quint64(0));
        target->setDropping(false);
        local->feed("delivered");
        QTRY_COMPARE(target->written(), QList<QByteArray>{"delivered"});
        QCOMPARE(remote->datagramsIn(), quint64(1));
    }

    // A flood of datagrams stops at half the watermark; stream channels still have the rest.
    void aFloodOfDatagramsLeavesRoomForStreams()
    {
        SessionLimits limits = testLimits();
        limits.receiveWindow = 4 * 1024 * 1024;
        FlowPair pair(limits, limits);
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *flow = pair.open(&local, &target);
        QVERIFY(flow);
        auto *streamLocal = new MemoryEndpoint;
        Channel *stream = pair.dialer->openChannel(streamLocal, QStringLiteral("db"), 5432);
        QTRY_COMPARE(stream->state(), Channel::State::Open);
        QTRY_COMPARE(pair.policy->endpoints.size(), qsizetype(1));
        MemoryEndpoint *streamTarget = pair.policy->endpoints.first();

        auto *link = qobject_cast<PipeLink *>(pair.dialer->link());
        link->hold(true);
        for (int i = 0; i < 200; ++i)
            local->feed(datagram(4096, 'f'));
        QTRY_COMPARE(flow->datagramsOut() + flow->droppedOut(), quint64(200));
        QVERIFY(flow->droppedOut() > 0);
        const QByteArray bytes = datagram(64 * 1024, 's');
        streamLocal->feed(bytes);
        QTRY_COMPARE(stream->bytesOut(), quint64(bytes.size()));
        link->hold(false);
        QTRY_COMPARE(streamTarget->written(), bytes);
    }

    void idleFlowsExpireOnEitherEnd_data()
    {
        QTest::addColumn<bool>("dialerExpires");
        QTest::newRow("the dialer's timeout") << true;
        QTest::newRow("the acceptor's timeout") << false;
    }

    // Each end keeps its own timeout; the shorter one ends the flow on both, as an orderly end.
    void idleFlowsExpireOnEitherEnd()
    {
        QFETCH(bool, dialerExpires);
        constexpr int kTimeoutMs = 300;
        SessionLimits shortLimits = testLimits();
        shortLimits.datagramIdleTimeoutMs = kTimeoutMs;
        FlowPair pair(dialerExpires ? shortLimits : testLimits(),
                      dialerExpires ? testLimits() : shortLimits);
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        // The ended flow deletes its endpoint: reading it afterwards read freed memory (found by
        // AddressSanitizer).
        const QPointer<MemoryDatagramEndpoint> localAlive = local;
        QSignalSpy dialerClosed(pair.dialer.get(), &TunnelSession::channelClosed);
        QSignalSpy acceptorClosed(pair.acceptor.get(), &TunnelSession::channelClosed);
        target->feed("reply");
        QTRY_COMPARE(local->written().size(), qsizetype(1));
        QElapsedTimer sinceLastDatagram;
        sinceLastDatagram.start();

        QTRY_COMPARE_WITH_TIMEOUT(dialerClosed.size(), 1, 5000);
        QTRY_COMPARE(acceptorClosed.size(), 1);
        QVERIFY2(sinceLastDatagram.elapsed() >= kTimeoutMs - 50,
                 qPrintable(QString::number(sinceLastDatagram.elapsed())));
        QCOMPARE(dialerClosed.first().first().value<ChannelSummary>().error, QString());
        QCOMPARE(acceptorClosed.first().first().value<ChannelSummary>().error, QString());
        QVERIFY(localAlive.isNull() || localAlive->isAborted());
        const QPointer<MemoryDatagramEndpoint> remoteEnd = pair.policy->datagramEndpoints.first();
        QTRY_VERIFY(remoteEnd.isNull() || remoteEnd->isAborted());
        QCOMPARE(pair.dialer->datagramChannels(), 0);
        QCOMPARE(pair.acceptor->datagramChannels(), 0);
    }

    // Idle time counts from the last datagram either way, not from the flow's start.
    void aFlowInSteadyUseDoesNotExpire()
    {
        SessionLimits limits = testLimits();
        limits.datagramIdleTimeoutMs = 300;
        FlowPair pair(limits, limits);
        QVERIFY(pair.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        QSignalSpy closed(pair.dialer.get(), &TunnelSession::channelClosed);
        int ticks = 0;
        QTimer traffic;
        // Requests only for the first half, replies only for the second: either way keeps the
        // flow alive at both ends.
        QObject::connect(&traffic, &QTimer::timeout, &traffic, [&] {
            if (++ticks <= 6)
                local->feed("request");
            else
                target->feed("reply");
        });
        traffic.start(100);
        QVERIFY(!QTest::qWaitFor([&] { return !closed.isEmpty(); }, 1200));
        QCOMPARE(channel->state(), Channel::State::Open);
        QVERIFY(local->written().size() >= 4);
        traffic.stop();
        QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, 5000);
    }

    void theLeastRecentlyUsedFlowIsEvictedAtTheCap()
    {
        SessionLimits limits = testLimits();
        limits.maxDatagramChannels = 3;
        FlowPair pair(limits, limits);
        QVERIFY(pair.start());
        QList<MemoryDatagramEndpoint *> locals(4);
        QList<MemoryDatagramEndpoint *> targets(4);
        QList<quint32> ids;
        for (int i = 0; i < 3; ++i) {
            Channel *channel = pair.open(&locals[i], &targets[i]);
            QVERIFY(channel);
            ids.append(channel->id());
        }
        QSignalSpy closed(pair.dialer.get(), &TunnelSession::channelClosed);
        // The second flow becomes the least recently used.
        for (const int i : {0, 2}) {
            locals[i]->feed("still here");
            QTRY_COMPARE(targets[i]->written().size(), qsizetype(1));
        }
        // Eviction deletes the flow's endpoint: reading it afterwards read freed memory (found
        // by AddressSanitizer).
        const QPointer<MemoryDatagramEndpoint> evictedLocal = locals[1];
        QVERIFY(pair.open(&locals[3], &targets[3]));
        QCOMPARE(closed.size(), 1);
        const ChannelSummary evicted = closed.first().first().value<ChannelSummary>();
        QCOMPARE(evicted.id, ids[1]);
        QVERIFY2(evicted.error.contains(QStringLiteral("evicted")), qPrintable(evicted.error));
        QVERIFY(evictedLocal.isNull() || evictedLocal->isAborted());
        const QPointer<MemoryDatagramEndpoint> evictedTarget = pair.policy->datagramEndpoints.at(1);
        QTRY_VERIFY(evictedTarget.isNull() || evictedTarget->isAborted());
        QCOMPARE(pair.dialer->datagramChannels(), 3);
        QTRY_COMPARE(pair.acceptor->datagramChannels(), 3);
        for (const int i : {0, 2, 3}) {
            locals[i]->feed("after");
            QTRY_VERIFY(targets[i]->written().contains(QByteArray("after")));
        }
    }

    void anEndWithoutTheCapabilityRefusesFlows()
    {
        FlowPair pair;
        pair.acceptor->setLocalCapabilities(Capability::AcceptsListen);
        QVERIFY(pair.start());
        QVERIFY(!pair.dialer->peerCapabilities().testFlag(Capability::DatagramChannels));
        QSignalSpy closed(pair.dialer.get(), &TunnelSession::channelClosed);
        auto *local = new MemoryDatagramEndpoint;
        const QPointer<MemoryDatagramEndpoint> localAlive = local;
        QVERIFY(pair.dialer->openChannel(local, QStringLiteral("dns"), 53));
        QTRY_COMPARE(closed.size(), 1);
        const QString error = closed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(QStringLiteral("only TCP")), qPrintable(error));
        QVERIFY(localAlive.isNull() || localAlive->isAborted());
        QVERIFY(pair.policy->datagramEndpoints.isEmpty());
        // Nor does it take UDP listen requests, so the dialer does not send them.
        QCOMPARE(
            pair.dialer->requestListen(QStringLiteral("127.0.0.1"), 5353, ChannelTransport::Udp),
            quint32(0));
        QVERIFY(pair.dialer->requestListen(QStringLiteral("127.0.0.1"), 5353) != 0);
    }

    void listenRequestsCarryTheirTransport()
    {
        FlowPair pair;
        QVERIFY(pair.start());
        QSignalSpy requested(pair.acceptor.get(), &TunnelSession::listenRequested);
        QVERIFY(pair.dialer->requestListen(QStringLiteral("127.0.0.1"), 5353,
                                           ChannelTransport::Udp) != 0);
        QVERIFY(pair.dialer->requestListen(QStringLiteral("127.0.0.1"), 8080) != 0);
        QTRY_COMPARE(requested.size(), 2);
        QCOMPARE(requested.at(0).at(3).value<ChannelTransport>(), ChannelTransport::Udp);
        QCOMPARE(requested.at(1).at(3).value<ChannelTransport>(), ChannelTransport::Tcp);
    }

    void malformedDatagramMessagesEndOnlyThatSession_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::addColumn<QString>("reason");
        QTest::newRow("datagram over 65507 bytes")
            << MessageCodec::data(1, 0, datagram(protocol::kMaxDatagramSize + 1, 'x'))
            << QStringLiteral("datagram of 65508 bytes");
        QTest::newRow("empty datagram")
            << MessageCodec::data(1, 0, QByteArray()) << QStringLiteral("datagram of 0 bytes");
        QTest::newRow("fin on a flow")
            << MessageCodec::fin(1, 0) << QStringLiteral("no half-close");
    }

    void malformedDatagramMessagesEndOnlyThatSession()
    {
        QFETCH(QByteArray, message);
        QFETCH(QString, reason);
        FlowPair bystander;
        QVERIFY(bystander.start());
        MemoryDatagramEndpoint *local = nullptr;
        MemoryDatagramEndpoint *target = nullptr;
        QVERIFY(bystander.open(&local, &target));

        RawDialer peer;
        QTRY_VERIFY(peer.session->isReady());
        peer.link->send(
            MessageCodec::open(1, ChannelTransport::Udp, 65536, QStringLiteral("dns"), 53));
        QVERIFY(peer.waitFor(MessageType::OpenOk));
        peer.link->send(message);
        QTRY_VERIFY(!peer.closeReason.isEmpty());
        QVERIFY2(peer.closeReason.contains(reason), qPrintable(peer.closeReason));
        QVERIFY(peer.waitFor(MessageType::GoAway));
        QTRY_VERIFY(peer.policy->datagramEndpoints.first().isNull() ||
                    peer.policy->datagramEndpoints.first()->isAborted());

        local->feed("unaffected");
        QTRY_COMPARE(target->written(), QList<QByteArray>{"unaffected"});
        QVERIFY(bystander.dialer->isReady() && bystander.acceptor->isReady());
    }
};

QTEST_GUILESS_MAIN(DatagramChannelTest)
#include "tst_datagramchannel.moc"
