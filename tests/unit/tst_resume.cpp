// Resumable sessions (protocol version 4) over in-memory pipe links: a cut link is replaced by a
// new one and every channel carries on byte-exact, or ends with a reason that says why not.
#include "MemoryEndpoint.h"
#include "MemoryTargetPolicy.h"
#include "link/PipeLink.h"
#include "metrics/TunnelMetrics.h"
#include "protocol/MessageCodec.h"
#include "session/ResumableSessions.h"
#include "session/TunnelSession.h"

#include <QPointer>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wstunnel;

namespace {

const QString kIdentity = QStringLiteral("token 1 of tokens");

SessionLimits resumeLimits()
{
    SessionLimits limits;
    limits.receiveWindow = 64 * 1024;
    limits.chunkSize = 16 * 1024;
    limits.writeWatermark = 256 * 1024;
    limits.resumeTimeoutMs = 60000;
    return limits;
}

QByteArray pattern(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 251 + i / 4093);
    return bytes;
}

std::optional<Message> decoded(QByteArrayView bytes)
{
    return MessageCodec::decode(bytes, 16 * 1024 * 1024).message;
}

// A dialer and an acceptor that both announce resume, the acceptor's session registered as a
// server would; reconnect() dials a new pipe and resumes over it.
struct ResumeRig
{
    explicit ResumeRig(const SessionLimits &limits = resumeLimits(),
                       Capabilities dialerCapabilities = Capability::Resume)
        : limits(limits)
    {
        auto [dialerLink, acceptorLink] = PipeLink::createPair();
        watch(dialerLink);
        dialer = std::make_unique<TunnelSession>(dialerLink, TunnelSession::Role::Dialer, limits);
        dialer->setLocalCapabilities(dialerCapabilities);
        acceptor =
            std::make_unique<TunnelSession>(acceptorLink, TunnelSession::Role::Acceptor, limits);
        acceptor->setLocalCapabilities(Capability::AcceptsListen | Capability::Resume);
        acceptor->setTargetPolicy(policy);
        QObject::connect(acceptor.get(), &TunnelSession::ready, acceptor.get(), [this] {
            if (acceptor->canResume())
                sessions->add(acceptor.get(), kIdentity);
        });
    }

    bool start()
    {
        dialer->start(QStringLiteral("desktop"));
        acceptor->start(QStringLiteral("remote"));
        return QTest::qWaitFor([this] {
            return dialer->isReady() && acceptor->isReady() &&
                   (!dialer->localCapabilities().testFlag(Capability::Resume) ||
                    dialer->canResume());
        });
    }

    Channel *open(MemoryEndpoint **local, MemoryEndpoint **target)
    {
        auto *endpoint = new MemoryEndpoint;
        const qsizetype before = policy->endpoints.size();
        Channel *channel = dialer->openChannel(endpoint, QStringLiteral("db"), 5432);
        if (!QTest::qWaitFor([&] {
                return channel->state() == Channel::State::Open &&
                       policy->endpoints.size() > before;
            }))
            return nullptr;
        *local = endpoint;
        *target = policy->endpoints.last();
        return channel;
    }

    void cut() { qobject_cast<PipeLink *>(dialer->link())->cut(QStringLiteral("connection lost")); }

    // A new WebSocket to the acceptor's side, authenticated as identity: a fresh session that
    // hands a resume request to the registry.
    PipeLink *dialNew(const QString &identity, PipeLink **acceptorEnd = nullptr)
    {
        auto [dialerLink, acceptorLink] = PipeLink::createPair();
        watch(dialerLink);
        auto *fresh = new TunnelSession(acceptorLink, TunnelSession::Role::Acceptor, limits);
        fresh->setLocalCapabilities(Capability::AcceptsListen | Capability::Resume);
        fresh->setTargetPolicy(policy);
        QObject::connect(fresh, &TunnelSession::resumeRequested, fresh,
                         [this, fresh, identity](const QByteArray &id, const QByteArray &secret,
                                                 quint64 received) {
                             sessions->resume(fresh, identity, id, secret, received);
                         });
        QObject::connect(fresh, &TunnelSession::closed, fresh, &QObject::deleteLater);
        fresh->start(QStringLiteral("remote"));
        if (acceptorEnd)
            *acceptorEnd = acceptorLink;
        return dialerLink;
    }

    bool reconnect(const QString &identity = kIdentity)
    {
        QSignalSpy resumed(dialer.get(), &TunnelSession::resumed);
        dialer->resumeOver(dialNew(identity));
        return resumed.wait(5000);
    }

    // Records the latest ticket the acceptor handed out, as a wiretap would (tests only).
    void watch(PipeLink *dialerLink)
    {
        QObject::connect(
            dialerLink, &Link::messageReceived, dialerLink, [this](QByteArrayView bytes) {
                if (!bytes.isEmpty() && bytes.at(0) == char(MessageType::SessionTicket))
                    lastTicket = bytes.toByteArray();
            });
    }

    SessionLimits limits;
    std::shared_ptr<MemoryTargetPolicy> policy = std::make_shared<MemoryTargetPolicy>();
    std::unique_ptr<ResumableSessions> sessions = std::make_unique<ResumableSessions>();
    std::unique_ptr<TunnelSession> dialer;
    std::unique_ptr<TunnelSession> acceptor;
    QByteArray lastTicket;
};

// Plays a dialer on a new link by hand: hello, then the given resume request; collects what the
// acceptor's side answers.
struct RawResumer
{
    explicit RawResumer(PipeLink *link)
        : link(link)
    {
        QObject::connect(link, &Link::messageReceived, link, [this](QByteArrayView bytes) {
            if (const auto m = decoded(bytes))
                received.append(m->type);
        });
        QObject::connect(link, &Link::closed, link, [this] { closed = true; });
    }

    // The acceptor owns the other end of the pipe; this end has no owner but this.
    ~RawResumer() { delete link; }

    void send(const QByteArray &resume)
    {
        link->send(MessageCodec::hello(1, protocol::kVersion, 1024 * 1024, QStringLiteral("raw")));
        link->send(resume);
    }

    QPointer<PipeLink> link;
    QList<MessageType> received;
    bool closed = false;
};

} // namespace

class ResumeTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bothEndsAgreeOnResume()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        QCOMPARE(rig.dialer->version(), quint16(4));
        QVERIFY(rig.dialer->canResume());
        QVERIFY(rig.acceptor->canResume());
        QCOMPARE(rig.dialer->sessionId(), rig.acceptor->sessionId());
        QCOMPARE(rig.dialer->sessionId().size(), protocol::kSessionIdSize);
    }

    // Several cuts while bytes flow both ways at once, some of them lost in the cut pipe: every
    // byte arrives once and in order, and no channel ends.
    void transferSurvivesCutsBothWays()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        QSignalSpy channelsClosed(rig.dialer.get(), &TunnelSession::channelClosed);
        QSignalSpy acceptorChannelsClosed(rig.acceptor.get(), &TunnelSession::channelClosed);
        const QByteArray up = pattern(3 * 1024 * 1024, 'u');
        const QByteArray down = pattern(3 * 1024 * 1024, 'd');
        local->feed(up);
        target->feed(down);
        constexpr int kCuts = 5;
        for (int cut = 1; cut <= kCuts; ++cut) {
            const qsizetype mark = up.size() * cut / (kCuts + 1);
            QVERIFY(QTest::qWaitFor([&] {
                return target->written().size() >= mark && local->written().size() >= mark;
            }));
            rig.cut();
            QVERIFY(rig.dialer->isHeld());
            QVERIFY(rig.acceptor->isHeld());
            QVERIFY2(rig.reconnect(), qPrintable(QStringLiteral("resume %1 failed").arg(cut)));
            QVERIFY(!rig.acceptor->isHeld());
        }
        QTRY_COMPARE_WITH_TIMEOUT(target->written().size(), up.size(), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(local->written().size(), down.size(), 10000);
        QVERIFY(target->written() == up);
        QVERIFY(local->written() == down);
        QCOMPARE(channelsClosed.size(), 0);
        QCOMPARE(acceptorChannelsClosed.size(), 0);
        QVERIFY(!local->isAborted());
        QVERIFY(!target->isAborted());
        // The channel still ends in order afterwards.
        local->finishInput();
        target->finishInput();
        QTRY_COMPARE(channelsClosed.size(), 1);
        QCOMPARE(channelsClosed.first().first().value<ChannelSummary>().error, QString());
    }

    // Control messages lost in the cut (open, open-ok, fin, credit) are replayed too.
    void controlMessagesLostInTheCutAreReplayed()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        // Hold the dialer's side of the pipe: an open, data and a fin go into it and are lost.
        auto *pipe = qobject_cast<PipeLink *>(rig.dialer->link());
        pipe->hold(true);
        auto *second = new MemoryEndpoint;
        second->feed("request");
        second->finishInput();
        QVERIFY(rig.dialer->openChannel(second, QStringLiteral("db"), 5432));
        local->feed("more");
        QTRY_VERIFY(pipe->messagesSent() >= 4);
        rig.cut();
        QCOMPARE(rig.policy->endpoints.size(), qsizetype(1));
        QVERIFY(rig.reconnect());
        QTRY_COMPARE(rig.policy->endpoints.size(), qsizetype(2));
        MemoryEndpoint *secondTarget = rig.policy->endpoints.last();
        QTRY_COMPARE(secondTarget->written(), QByteArray("request"));
        QTRY_VERIFY(secondTarget->isWriteShut());
        QTRY_COMPARE(target->written(), QByteArray("more"));
        secondTarget->feed("answer");
        QTRY_COMPARE(second->written(), QByteArray("answer"));
    }

    // A local connection accepted while the link is down waits for the resume.
    void aChannelOpenedWhileHeldOpensAfterTheResume()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        rig.cut();
        auto *local = new MemoryEndpoint;
        local->feed("hello");
        QVERIFY(rig.dialer->openChannel(local, QStringLiteral("db"), 5432));
        QVERIFY(rig.reconnect());
        QTRY_COMPARE(rig.policy->endpoints.size(), qsizetype(1));
        QTRY_COMPARE(rig.policy->endpoints.first()->written(), QByteArray("hello"));
    }

    // However long the outage and however much the local writer pushes, what is kept for replay
    // stays within the window the peer granted.
    void keptBytesStayWithinTheWindowDuringACut()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        // The target reads nothing: no credit comes back, the window fills and stays full.
        target->setStalled(true);
        auto *pipe = qobject_cast<PipeLink *>(rig.dialer->link());
        pipe->hold(true);
        local->feed(pattern(8 * 1024 * 1024, 'w'));
        const qint64 window = rig.limits.receiveWindow;
        const qint64 slack = 4096; // message headers and control messages
        QTRY_VERIFY(rig.dialer->replayBytes() >= window);
        rig.cut();
        for (int i = 0; i < 20; ++i) {
            local->feed(pattern(1024 * 1024, 'x'));
            QTest::qWait(10);
            QVERIFY2(rig.dialer->replayBytes() <= window + slack,
                     qPrintable(QString::number(rig.dialer->replayBytes())));
        }
        QVERIFY(rig.reconnect());
        target->setStalled(false);
        QTRY_VERIFY_WITH_TIMEOUT(target->written().size() == 28 * 1024 * 1024, 20000);
        QVERIFY(target->written().startsWith(pattern(8 * 1024 * 1024, 'w')));
        // Acknowledged messages leave the log.
        QTRY_VERIFY(rig.dialer->replayBytes() < window);
    }

    void refusedAttemptsLeaveTheHeldSessionAlone_data()
    {
        QTest::addColumn<QString>("attempt");
        QTest::newRow("wrong secret") << QStringLiteral("wrong secret");
        QTest::newRow("another identity") << QStringLiteral("another identity");
        QTest::newRow("second use of a ticket") << QStringLiteral("second use");
        QTest::newRow("unknown session") << QStringLiteral("unknown session");
    }

    void refusedAttemptsLeaveTheHeldSessionAlone()
    {
        QFETCH(QString, attempt);
        ResumeRig rig;
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        QByteArray ticket = rig.lastTicket;
        if (attempt == QStringLiteral("second use")) {
            rig.cut();
            QVERIFY(rig.reconnect());
            QTRY_VERIFY(rig.lastTicket != ticket);
        }
        const auto m = decoded(ticket);
        QVERIFY(m && m->type == MessageType::SessionTicket);
        QByteArray id = m->sessionId.toByteArray();
        QByteArray secret = m->secret.toByteArray();
        QString identity = kIdentity;
        if (attempt == QStringLiteral("wrong secret"))
            secret[0] = char(secret.at(0) ^ 1);
        else if (attempt == QStringLiteral("another identity"))
            identity = QStringLiteral("token 2 of tokens");
        else if (attempt == QStringLiteral("unknown session"))
            id[3] = char(id.at(3) ^ 0x40);
        rig.cut();
        QSignalSpy acceptorClosed(rig.acceptor.get(), &TunnelSession::closed);

        RawResumer intruder(rig.dialNew(identity));
        intruder.send(MessageCodec::resume(id, secret, 0));
        QTRY_VERIFY(intruder.received.contains(MessageType::ResumeFailed));
        QTRY_VERIFY(intruder.closed);
        QVERIFY(!intruder.received.contains(MessageType::Resumed));
        QVERIFY(rig.acceptor->isHeld());
        QCOMPARE(acceptorClosed.size(), 0);
        QVERIFY(!target->isAborted());

        // The rightful dialer still resumes.
        QVERIFY(rig.reconnect());
        local->feed("still here");
        QTRY_COMPARE(target->written(), QByteArray("still here"));
    }

    void heldChannelsAreResetWhenTheTimeoutExpires()
    {
        SessionLimits limits = resumeLimits();
        limits.resumeTimeoutMs = 300;
        ResumeRig rig(limits);
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        QSignalSpy dialerChannels(rig.dialer.get(), &TunnelSession::channelClosed);
        QSignalSpy acceptorChannels(rig.acceptor.get(), &TunnelSession::channelClosed);
        // The channels delete their endpoints as they close.
        QSignalSpy localAborted(local, &MemoryEndpoint::aborted);
        QSignalSpy targetAborted(target, &MemoryEndpoint::aborted);
        rig.cut();
        QVERIFY(!local->isAborted());
        QTRY_COMPARE(dialerChannels.size(), 1);
        QTRY_COMPARE(acceptorChannels.size(), 1);
        const QString error = dialerChannels.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(QStringLiteral("the connection to the remote was lost 0.3 s ago "
                                               "and did not come back")),
                 qPrintable(error));
        QVERIFY(!localAborted.isEmpty());
        QVERIFY(!targetAborted.isEmpty());
        QCOMPARE(rig.sessions->heldCount(), 0);
    }

    // What an operator's monitoring reads: a resume counts as resumed, an expired hold as lost.
    void metricsCountResumedAndLostSessions()
    {
        SessionLimits limits = resumeLimits();
        limits.resumeTimeoutMs = 300;
        ResumeRig rig(limits);
        TunnelMetrics metrics;
        metrics.watchSession(rig.acceptor.get());
        QVERIFY(rig.start());
        rig.cut();
        QVERIFY(rig.reconnect());
        QVERIFY(metrics.render().contains("\nwstunnel_sessions_resumed_total 1\n"));
        QVERIFY(metrics.render().contains("\nwstunnel_sessions_lost_total 0\n"));

        rig.cut();
        QTRY_VERIFY(rig.acceptor->isEnded());
        const QByteArray after = metrics.render();
        QVERIFY2(after.contains("\nwstunnel_sessions_lost_total 1\n"), after.constData());
        QVERIFY(after.contains("\nwstunnel_sessions_resumed_total 1\n"));
    }

    // The far end restarted: it knows no such session, and the dialer resets at once.
    void aPeerThatForgotTheSessionResetsAtOnce()
    {
        ResumeRig rig;
        QVERIFY(rig.start());
        MemoryEndpoint *local = nullptr;
        MemoryEndpoint *target = nullptr;
        QVERIFY(rig.open(&local, &target));
        rig.cut();
        rig.sessions = std::make_unique<ResumableSessions>();
        QSignalSpy closed(rig.dialer.get(), &TunnelSession::closed);
        QSignalSpy channelClosed(rig.dialer.get(), &TunnelSession::channelClosed);
        rig.dialer->resumeOver(rig.dialNew(kIdentity));
        QVERIFY(closed.wait(5000));
        QVERIFY(local->isAborted());
        QCOMPARE(channelClosed.size(), 1);
        const QString error = channelClosed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(QStringLiteral("resume refused by the remote: no such session")),
                 qPrintable(error));
    }

    // Without resume on both ends, or with a version 3 peer, a lost link ends the session as
    // before.
    void peersWithoutResumeEndAtOnce_data()
    {
        QTest::addColumn<bool>("dialerAnnouncesResume");
        QTest::addColumn<int>("peerVersion");
        QTest::newRow("dialer without resume") << false << 4;
        QTest::newRow("version 3 peer") << true << 3;
    }

    void peersWithoutResumeEndAtOnce()
    {
        QFETCH(bool, dialerAnnouncesResume);
        QFETCH(int, peerVersion);
        if (peerVersion == 4) {
            ResumeRig rig(resumeLimits(), dialerAnnouncesResume ? Capabilities(Capability::Resume)
                                                                : Capabilities());
            QVERIFY(rig.start());
            MemoryEndpoint *local = nullptr;
            MemoryEndpoint *target = nullptr;
            QVERIFY(rig.open(&local, &target));
            QVERIFY(!rig.acceptor->canResume());
            QVERIFY(rig.lastTicket.isEmpty());
            QSignalSpy closed(rig.dialer.get(), &TunnelSession::closed);
            rig.cut();
            QVERIFY(closed.size() == 1 || closed.wait());
            QVERIFY(local->isAborted());
            QTRY_VERIFY(target->isAborted());
            return;
        }
        auto [sessionLink, peerLink] = PipeLink::createPair();
        TunnelSession session(sessionLink, TunnelSession::Role::Dialer, resumeLimits());
        session.setLocalCapabilities(Capability::Resume);
        QList<MessageType> received;
        QObject::connect(peerLink, &Link::messageReceived, peerLink, [&](QByteArrayView bytes) {
            if (const auto m = decoded(bytes))
                received.append(m->type);
        });
        session.start(QStringLiteral("desktop"));
        peerLink->send(MessageCodec::hello(1, quint16(peerVersion), 1024 * 1024, QString()));
        peerLink->send(MessageCodec::capabilities(quint32(Capability::Resume)));
        QTRY_VERIFY(session.isReady());
        QCOMPARE(session.version(), quint16(3));
        QVERIFY(!session.canResume());
        QSignalSpy closed(&session, &TunnelSession::closed);
        peerLink->cut(QStringLiteral("connection lost"));
        QCOMPARE(closed.size(), 1);
        QVERIFY(!received.contains(MessageType::Ack));
        delete peerLink;
    }
};

QTEST_GUILESS_MAIN(ResumeTest)
#include "tst_resume.moc"
