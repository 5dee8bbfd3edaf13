// The mailbox between the engine's owner and its thread: one wake for what piles up before it is
// taken, commands in the order they were posted, the latest snapshot and every event (up to the
// bound) in one take.
#include "engine/EngineMailbox.h"
#include "engine/EngineWorker.h"

#include <QSignalSpy>
#include <QTest>

using namespace wstunnel;

namespace {

EngineEvent eventFor(const QString &mappingId)
{
    EngineEvent event;
    event.kind = EngineEvent::Kind::ChannelOpened;
    event.mappingId = mappingId;
    return event;
}

EngineSnapshot snapshotNumber(qint64 sequence)
{
    EngineSnapshot snapshot;
    snapshot.sequence = sequence;
    return snapshot;
}

} // namespace

class EngineMailboxTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void commandsWakeOnceAndRunInOrder()
    {
        EngineMailbox mailbox(10);
        QSignalSpy woken(&mailbox, &EngineMailbox::commandsPosted);
        QStringList ran;
        for (const QString &name : {QStringLiteral("first"), QStringLiteral("second")})
            mailbox.post([&ran, name](EngineWorker &) { ran.append(name); });
        QCOMPARE(woken.size(), 1);
        std::vector<EngineMailbox::Command> commands = mailbox.takeCommands();
        QCOMPARE(commands.size(), size_t(2));
        EngineWorker worker(1000, &mailbox);
        for (const EngineMailbox::Command &command : commands)
            command(worker);
        QCOMPARE(ran, QStringList({QStringLiteral("first"), QStringLiteral("second")}));
        // A wake that finds the commands taken by an earlier one finds nothing.
        QVERIFY(mailbox.takeCommands().empty());
        mailbox.post([](EngineWorker &) {});
        QCOMPARE(woken.size(), 2);
    }

    void theLatestSnapshotAndEveryEventArrive()
    {
        EngineMailbox mailbox(3);
        QSignalSpy woken(&mailbox, &EngineMailbox::snapshotPublished);
        EngineSnapshot snapshot;
        QList<EngineEvent> events;
        QVERIFY(!mailbox.takePublished(&snapshot, &events));
        mailbox.publish(snapshotNumber(1), {eventFor(QStringLiteral("a"))});
        mailbox.publish(snapshotNumber(2), {});
        mailbox.publish(snapshotNumber(3), {eventFor(QStringLiteral("b"))});
        QCOMPARE(woken.size(), 1);
        QVERIFY(mailbox.takePublished(&snapshot, &events));
        QCOMPARE(snapshot.sequence, 3);
        QCOMPARE(events.size(), 2);
        QCOMPARE(events.at(0).mappingId, QStringLiteral("a"));
        QCOMPARE(events.at(1).mappingId, QStringLiteral("b"));
        QVERIFY(!mailbox.takePublished(&snapshot, &events));
        mailbox.publish(snapshotNumber(4), {});
        QCOMPARE(woken.size(), 2);
    }

    // An owner that takes nothing for a while gets the newest events, at most the bound.
    void eventsBeyondTheBoundDropTheOldest()
    {
        EngineMailbox mailbox(3);
        for (const char *id : {"a", "b", "c"})
            mailbox.publish(snapshotNumber(1), {eventFor(QLatin1String(id))});
        mailbox.publish(snapshotNumber(2),
                        {eventFor(QStringLiteral("d")), eventFor(QStringLiteral("e"))});
        EngineSnapshot snapshot;
        QList<EngineEvent> events;
        QVERIFY(mailbox.takePublished(&snapshot, &events));
        QStringList ids;
        for (const EngineEvent &event : events)
            ids.append(event.mappingId);
        QCOMPARE(ids, QStringList({QStringLiteral("c"), QStringLiteral("d"), QStringLiteral("e")}));
    }
};

QTEST_GUILESS_MAIN(EngineMailboxTest)
#include "tst_enginemailbox.moc"
