// The channel state machine and the session around it, over an in-memory pipe link: no sockets.
// Either two real sessions talk to each other, or the test plays one end with raw messages.
#include "MemoryEndpoint.h"
#include "MemoryTargetPolicy.h"
#include "link/PipeLink.h"
#include "protocol/MessageCodec.h"
#include "session/TunnelSession.h"

#include <QPointer>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wstunnel;

namespace {

SessionLimits smallLimits()
{
    SessionLimits limits;
    limits.receiveWindow = 64 * 1024;
    limits.chunkSize = 16 * 1024;
    limits.writeWatermark = 256 * 1024;
    return limits;
}

QByteArray pattern(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 251);
    return bytes;
}

// A dialer and an acceptor session joined by a pipe; the acceptor carries channels to
// MemoryEndpoints and takes listen requests, as a remote does.
struct SessionPair
{
    explicit SessionPair(const SessionLimits &limits = smallLimits())
    {
        auto [dialerLink, acceptorLink] = PipeLink::createPair();
        dialer = std::make_unique<TunnelSession>(dialerLink, TunnelSession::Role::Dialer, limits);
        acceptor =
            std::make_unique<TunnelSession>(acceptorLink, TunnelSession::Role::Acceptor, limits);
        acceptor->setLocalCapabilities(Capability::AcceptsListen);
        acceptor->setTargetPolicy(policy);
    }

    bool start()
    {
        dialer->start(QStringLiteral("desktop"));
        acceptor->start(QStringLiteral("remote"));
        return QTest::qWaitFor([this] { return dialer->isReady() && acceptor->isReady(); });
    }

    // Opens a channel from the dialer and waits until both ends have it open.
    Channel *open(MemoryEndpoint **local, MemoryEndpoint **target)
    {
        auto *endpoint = new MemoryEndpoint;
        Channel *channel = dialer->openChannel(endpoint, QStringLiteral("db"), 5432);
        const bool open = QTest::qWaitFor([&] {
            return channel->state() == Channel::State::Open && !policy->endpoints.isEmpty() &&
                   acceptor->channels().size() == 1 &&
                   acceptor->channels().first()->state() == Channel::State::Open;
        });
        if (!open)
            return nullptr;
        *local = endpoint;
        *target = policy->endpoints.last();
        return channel;
    }

    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<TunnelSession> dialer;
    std::unique_ptr<TunnelSession> acceptor;
};

// One session under test; the test plays its peer with raw messages on the other end of the pipe.
struct RawPeer
{
    explicit RawPeer(TunnelSession::Role role, quint16 peerVersion = protocol::kVersion)
    {
        auto [sessionLink, peerLink] = PipeLink::createPair();
        link = peerLink;
        session = std::make_unique<TunnelSession>(sessionLink, role, smallLimits());
        session->setTargetPolicy(policy);
        QObject::connect(link, &Link::messageReceived, link, [this](QByteArrayView bytes) {
            const MessageCodec::DecodeResult decoded =
                MessageCodec::decode(bytes, 16 * 1024 * 1024);
            QVERIFY2(decoded.message, qPrintable(decoded.error));
            Message m = *decoded.message;
            payloads.append(m.payload.toByteArray());
            m.payload = {};
            received.append(m);
        });
        QObject::connect(session.get(), &TunnelSession::closed, session.get(),
                         [this](const QString &reason) { closeReason = reason; });
        session->start(QStringLiteral("under test"));
        link->send(MessageCodec::hello(1, peerVersion, 1024 * 1024, QStringLiteral("raw")));
        if (peerVersion >= protocol::kCapabilitiesVersion)
            link->send(MessageCodec::capabilities(0));
    }

    bool waitReady()
    {
        return QTest::qWaitFor([this] { return session->isReady(); });
    }
    bool waitFor(MessageType type)
    {
        return QTest::qWaitFor([this, type] {
            for (const Message &m : std::as_const(received)) {
                if (m.type == type)
                    return true;
            }
            return false;
        });
    }
    bool waitClosed()
    {
        return QTest::qWaitFor([this] { return !closeReason.isEmpty(); });
    }

    // The session owns its end of the pipe; the test's end has no owner but this.
    ~RawPeer()
    {
        session.reset();
        delete link;
    }

    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<TunnelSession> session;
    QPointer<PipeLink> link;
    QList<Message> received;
    QList<QByteArray> payloads;
    QString closeReason;
};

} // namespace

class ChannelTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bytesTravelBothWays()
    {
        SessionPair pair;
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(pair.open(&local, &target));
        local->feed("request");
        QTRY_COMPARE(target->written(), QByteArray("request"));
        target->feed("answer");
        QTRY_COMPARE(local->written(), QByteArray("answer"));
    }

    void earlyDataWaitsForTheTargetAndGoesFirst()
    {
        SessionPair pair;
        pair.policy->outcome = MemoryEndpoint::ConnectOutcome::Never;
        QVERIFY(pair.start());
        auto *local = new MemoryEndpoint;
        local->feed("startup message");
        Channel *channel = pair.dialer->openChannel(local, QStringLiteral("db"), 5432);
        QVERIFY(channel);
        QTRY_COMPARE(pair.acceptor->channels().size(), qsizetype(1));
        Channel *remote = pair.acceptor->channels().first();
        QTRY_COMPARE(remote->buffered(), quint64(15));
        MemoryEndpoint *target = pair.policy->endpoints.first();
        QVERIFY(target->wasConnectAsked());
        QVERIFY(target->written().isEmpty());
        QCOMPARE(channel->state(), Channel::State::Opening);

        target->completeConnect();
        QTRY_COMPARE(target->written(), QByteArray("startup message"));
        QTRY_COMPARE(channel->state(), Channel::State::Open);
        local->feed(" and more");
        QTRY_COMPARE(target->written(), QByteArray("startup message and more"));
    }

    // A stalled target stops its channel at one window; released, everything arrives intact.
    void creditBoundsWhatIsInFlight()
    {
        const SessionLimits limits = smallLimits();
        SessionPair pair(limits);
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(pair.open(&local, &target));
        target->setStalled(true);
        const QByteArray bytes = pattern(16 * int(limits.receiveWindow), 'a');
        local->feed(bytes);
        QTRY_COMPARE(target->queued(), qint64(limits.receiveWindow));
        // Nothing more arrives while no credit returns, and the rest waits unread at the source.
        QVERIFY(!QTest::qWaitFor([&] { return target->queued() > limits.receiveWindow; }, 200));
        QVERIFY(!local->isReadEnabled());

        target->setStalled(false);
        QTRY_COMPARE(target->written().size(), bytes.size());
        QCOMPARE(target->written(), bytes);
    }

    void finInBothOrders_data()
    {
        QTest::addColumn<bool>("localFirst");
        QTest::newRow("local side first") << true;
        QTest::newRow("target side first") << false;
    }

    void finInBothOrders()
    {
        QFETCH(bool, localFirst);
        SessionPair pair;
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(pair.open(&local, &target));
        QSignalSpy dialerClosed(pair.dialer.get(), &TunnelSession::channelClosed);
        QSignalSpy acceptorClosed(pair.acceptor.get(), &TunnelSession::channelClosed);
        MemoryEndpoint *first = localFirst ? local : target;
        MemoryEndpoint *second = localFirst ? target : local;
        first->feed("last words");
        first->finishInput();
        QTRY_VERIFY(second->isWriteShut());
        QCOMPARE(second->written(), QByteArray("last words"));
        // Half-closed: the other direction still flows.
        QVERIFY(!first->isWriteShut());
        second->feed("reply after the fin");
        QTRY_COMPARE(first->written(), QByteArray("reply after the fin"));
        QCOMPARE(dialerClosed.size() + acceptorClosed.size(), 0);

        // Both fins end the channel, which deletes its endpoints: reading them afterwards read
        // freed memory (found by AddressSanitizer).
        const QPointer<MemoryEndpoint> firstAlive = first;
        const QPointer<MemoryEndpoint> localAlive = local;
        const QPointer<MemoryEndpoint> targetAlive = target;
        second->finishInput();
        QTRY_VERIFY(firstAlive.isNull() || firstAlive->isWriteShut());
        QTRY_COMPARE(dialerClosed.size(), 1);
        QTRY_COMPARE(acceptorClosed.size(), 1);
        QCOMPARE(dialerClosed.first().first().value<ChannelSummary>().error, QString());
        QCOMPARE(acceptorClosed.first().first().value<ChannelSummary>().error, QString());
        QVERIFY(localAlive.isNull() || !localAlive->isAborted());
        QVERIFY(targetAlive.isNull() || !targetAlive->isAborted());
    }

    void resetAbortsTheOtherEnd()
    {
        SessionPair pair;
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        QSignalSpy acceptorClosed(pair.acceptor.get(), &TunnelSession::channelClosed);
        const QPointer<MemoryEndpoint> targetAlive = target;
        channel->abortChannel(QStringLiteral("closed by the user"));
        QVERIFY(local->isAborted());
        QTRY_VERIFY(targetAlive.isNull() || targetAlive->isAborted());
        QTRY_COMPARE(acceptorClosed.size(), 1);
        const QString error = acceptorClosed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(QStringLiteral("reset by peer")) &&
                     error.contains(QStringLiteral("closed by the user")),
                 qPrintable(error));
        QVERIFY(pair.dialer->channels().isEmpty());
        QTRY_VERIFY(pair.acceptor->channels().isEmpty());
    }

    void failedOpenClosesTheLocalEndAndSaysWhy_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<bool>("refuseConnect");
        QTest::addColumn<QString>("reason");
        QTest::newRow("not allowed")
            << QStringLiteral("denied") << false << QStringLiteral("not in the allow-list");
        QTest::newRow("refused") << QStringLiteral("db") << true
                                 << QStringLiteral("connection refused");
    }

    void failedOpenClosesTheLocalEndAndSaysWhy()
    {
        QFETCH(QString, host);
        QFETCH(bool, refuseConnect);
        QFETCH(QString, reason);
        SessionPair pair;
        if (refuseConnect)
            pair.policy->outcome = MemoryEndpoint::ConnectOutcome::Refuse;
        QVERIFY(pair.start());
        QSignalSpy closed(pair.dialer.get(), &TunnelSession::channelClosed);
        auto *local = new MemoryEndpoint;
        const QPointer<MemoryEndpoint> localAlive = local;
        QVERIFY(pair.dialer->openChannel(local, host, 5432));
        QTRY_COMPARE(closed.size(), 1);
        const QString error = closed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(reason), qPrintable(error));
        QVERIFY(localAlive.isNull() || localAlive->isAborted());
        // The session itself goes on.
        MemoryEndpoint *other = nullptr;
        MemoryEndpoint *target = nullptr;
        pair.policy->outcome = MemoryEndpoint::ConnectOutcome::Succeed;
        QVERIFY(pair.open(&other, &target));
    }

    // A message that crossed a reset on the wire is ignored; one for an id that never existed
    // ends the session.
    void staleIdsAreIgnoredUnknownIdsAreNot()
    {
        RawPeer peer(TunnelSession::Role::Acceptor);
        QVERIFY(peer.waitReady());
        peer.link->send(
            MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("db"), 5432));
        QVERIFY(peer.waitFor(MessageType::OpenOk));
        peer.link->send(MessageCodec::reset(1, FailureCode::Shutdown, QStringLiteral("bye")));
        peer.link->send(MessageCodec::data(1, 0, "stale"));
        peer.link->send(MessageCodec::credit(1, 0, 65536));
        peer.link->send(
            MessageCodec::open(3, ChannelTransport::Tcp, 65536, QStringLiteral("db"), 5432));
        QTRY_COMPARE(peer.policy->endpoints.size(), qsizetype(2));
        QTRY_VERIFY(peer.policy->endpoints.first().isNull() ||
                    peer.policy->endpoints.first()->isAborted());
        QVERIFY(peer.closeReason.isEmpty());

        peer.link->send(MessageCodec::data(99, 0, "never opened"));
        QVERIFY(peer.waitClosed());
        QVERIFY2(peer.closeReason.contains(QStringLiteral("never opened")),
                 qPrintable(peer.closeReason));
        QVERIFY(peer.waitFor(MessageType::GoAway));
    }

    void protocolViolationsEndTheSession_data()
    {
        QTest::addColumn<QList<QByteArray>>("messages");
        QTest::addColumn<QString>("reason");
        QTest::addColumn<bool>("targetAnswers");
        const QByteArray open =
            MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("db"), 5432);
        // The session under test grants smallLimits().receiveWindow = 64 KiB.
        QTest::newRow("data beyond the window")
            << QList<QByteArray>{open, MessageCodec::data(1, 0, pattern(64 * 1024, 'x')),
                                 MessageCodec::data(1, 64 * 1024, "one more")}
            << QStringLiteral("outside the window") << true;
        QTest::newRow("data at the wrong offset")
            << QList<QByteArray>{open, MessageCodec::data(1, 5, "gap")}
            << QStringLiteral("outside the window") << true;
        QTest::newRow("early data beyond the early window")
            << QList<QByteArray>{open, MessageCodec::data(1, 0, pattern(16 * 1024 + 1, 'e'))}
            << QStringLiteral("before open-ok") << false;
        QTest::newRow("fin at the wrong offset") << QList<QByteArray>{open, MessageCodec::fin(1, 7)}
                                                 << QStringLiteral("fin on channel 1") << true;
        QTest::newRow("credit beyond what was sent")
            << QList<QByteArray>{open, MessageCodec::credit(1, 1000, 65536)}
            << QStringLiteral("credit on channel 1") << true;
        QTest::newRow("open with an id of the wrong parity")
            << QList<QByteArray>{MessageCodec::open(2, ChannelTransport::Tcp, 65536,
                                                    QStringLiteral("db"), 5432)}
            << QStringLiteral("not a new id") << true;
        QTest::newRow("open reusing an id")
            << QList<QByteArray>{open, open} << QStringLiteral("not a new id") << true;
        QTest::newRow("second capabilities") << QList<QByteArray>{MessageCodec::capabilities(0)}
                                             << QStringLiteral("unexpected capabilities") << true;
        QTest::newRow("agent status from a peer that is no hub")
            << QList<QByteArray>{MessageCodec::agentStatus(AgentState::Active,
                                                           QStringLiteral("devbox"), {})}
            << QStringLiteral("not a hub") << true;
    }

    void protocolViolationsEndTheSession()
    {
        QFETCH(QList<QByteArray>, messages);
        QFETCH(QString, reason);
        QFETCH(bool, targetAnswers);
        RawPeer peer(TunnelSession::Role::Acceptor);
        // A target that reads nothing returns no credit, so the window stays where it was.
        peer.policy->stalled = true;
        if (!targetAnswers)
            peer.policy->outcome = MemoryEndpoint::ConnectOutcome::Never;
        QVERIFY(peer.waitReady());
        // Once the target answers, data is judged against the open channel's window.
        for (const QByteArray &message : std::as_const(messages)) {
            peer.link->send(message);
            if (message.at(0) == char(MessageType::Open) && targetAnswers)
                QVERIFY(peer.waitFor(MessageType::OpenOk) || !peer.closeReason.isEmpty());
        }
        QVERIFY(peer.waitClosed());
        QVERIFY2(peer.closeReason.contains(reason), qPrintable(peer.closeReason));
        QVERIFY(peer.waitFor(MessageType::GoAway));
        for (const QPointer<MemoryEndpoint> &endpoint : std::as_const(peer.policy->endpoints))
            QVERIFY(endpoint.isNull() || endpoint->isAborted());
    }

    void capabilitiesDecideWhoTakesListenRequests()
    {
        SessionPair pair;
        QVERIFY(pair.start());
        QCOMPARE(pair.dialer->version(), protocol::kVersion);
        QVERIFY(pair.dialer->peerCapabilities().testFlag(Capability::AcceptsListen));
        QVERIFY(!pair.acceptor->peerCapabilities().testFlag(Capability::AcceptsListen));
        QSignalSpy requested(pair.acceptor.get(), &TunnelSession::listenRequested);
        QVERIFY(pair.dialer->requestListen(QStringLiteral("127.0.0.1"), 9000) != 0);
        QVERIFY(requested.wait());
        QCOMPARE(requested.first().at(1).toString(), QStringLiteral("127.0.0.1"));
        // The dialer announced nothing, so the acceptor does not even ask.
        QCOMPARE(pair.acceptor->requestListen(QStringLiteral("127.0.0.1"), 9001), quint32(0));
    }

    // An end that dialed can still take listen requests once it says so: an agent does.
    void aDialerThatAnnouncesListenTakesListenRequests()
    {
        RawPeer peer(TunnelSession::Role::Dialer);
        peer.session->setLocalCapabilities(Capability::AcceptsListen);
        QVERIFY(peer.waitReady());
        QSignalSpy requested(peer.session.get(), &TunnelSession::listenRequested);
        peer.link->send(MessageCodec::listen(7, QStringLiteral("127.0.0.1"), 9000));
        QVERIFY(requested.wait());
        QCOMPARE(requested.first().first().toUInt(), 7u);
    }

    void olderPeersKeepTheirRoles_data()
    {
        QTest::addColumn<int>("role");
        QTest::addColumn<bool>("peerTakesListen");
        QTest::newRow("we dialed a version 2 acceptor") << int(TunnelSession::Role::Dialer) << true;
        QTest::newRow("a version 2 dialer dialed us")
            << int(TunnelSession::Role::Acceptor) << false;
    }

    void olderPeersKeepTheirRoles()
    {
        QFETCH(int, role);
        QFETCH(bool, peerTakesListen);
        RawPeer peer(TunnelSession::Role(role), protocol::kEarlyDataVersion);
        QVERIFY(peer.waitReady());
        QCOMPARE(peer.session->version(), protocol::kEarlyDataVersion);
        QCOMPARE(peer.session->peerCapabilities().testFlag(Capability::AcceptsListen),
                 peerTakesListen);
        // No capabilities message goes to a peer that would not understand it.
        QTest::qWait(0);
        for (const Message &m : std::as_const(peer.received))
            QVERIFY(m.type != MessageType::Capabilities);
    }

    void anythingButCapabilitiesAfterTheHelloEndsTheSession()
    {
        auto [sessionLink, peerLink] = PipeLink::createPair();
        TunnelSession session(sessionLink, TunnelSession::Role::Acceptor, smallLimits());
        QSignalSpy closed(&session, &TunnelSession::closed);
        session.start(QStringLiteral("under test"));
        peerLink->send(MessageCodec::hello(1, protocol::kVersion, 1024 * 1024, QString()));
        peerLink->send(
            MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("db"), 5432));
        QVERIFY(closed.wait());
        QVERIFY2(
            closed.first().first().toString().contains(QStringLiteral("expected capabilities")),
            qPrintable(closed.first().first().toString()));
        QVERIFY(!session.isReady());
        delete peerLink;
    }

    // The shape resume builds on: channels outlive the link they started on.
    void detachedSessionCarriesOnOverANewLink()
    {
        SessionPair pair;
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        Channel *channel = pair.open(&local, &target);
        QVERIFY(channel);
        const quint32 id = channel->id();
        local->feed("before");
        QTRY_COMPARE(target->written(), QByteArray("before"));
        QTRY_VERIFY(pair.dialer->link()->backlog() == 0 && pair.acceptor->link()->backlog() == 0);
        QSignalSpy dialerClosed(pair.dialer.get(), &TunnelSession::closed);
        QSignalSpy channelClosed(pair.dialer.get(), &TunnelSession::channelClosed);

        std::unique_ptr<Link> oldDialerLink(pair.dialer->detachLink());
        std::unique_ptr<Link> oldAcceptorLink(pair.acceptor->detachLink());
        QVERIFY(oldDialerLink && oldAcceptorLink);
        QVERIFY(!pair.dialer->link());
        // Without a link nothing is read: the bytes wait at their source.
        local->feed("while away");
        QTest::qWait(0);
        QVERIFY(!QTest::qWaitFor([&] { return target->written().size() > 6; }, 100));
        oldDialerLink.reset();
        oldAcceptorLink.reset();

        auto [dialerLink, acceptorLink] = PipeLink::createPair();
        pair.dialer->attachLink(dialerLink);
        pair.acceptor->attachLink(acceptorLink);
        QTRY_COMPARE(target->written(), QByteArray("beforewhile away"));
        target->feed("after");
        QTRY_COMPARE(local->written(), QByteArray("after"));
        QCOMPARE(pair.dialer->channels().size(), qsizetype(1));
        QCOMPARE(pair.dialer->channels().first()->id(), id);
        QCOMPARE(dialerClosed.size(), 0);
        QCOMPARE(channelClosed.size(), 0);
        QVERIFY(pair.dialer->isReady());

        // And the new link ends the session as the old one would have.
        dialerLink->cut(QStringLiteral("connection lost"));
        QTRY_COMPARE(dialerClosed.size(), 1);
        QTRY_VERIFY(local->isAborted());
    }

    void lostLinkDropsEveryChannel()
    {
        SessionPair pair;
        QVERIFY(pair.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(pair.open(&local, &target));
        QSignalSpy closed(pair.acceptor.get(), &TunnelSession::closed);
        qobject_cast<PipeLink *>(pair.dialer->link())->cut(QStringLiteral("connection lost"));
        QVERIFY(closed.size() == 1 || closed.wait());
        QCOMPARE(closed.first().first().toString(), QStringLiteral("connection lost"));
        QTRY_VERIFY(target->isAborted());
        QVERIFY(local->isAborted());
    }
};

QTEST_GUILESS_MAIN(ChannelTest)
#include "tst_channel.moc"
