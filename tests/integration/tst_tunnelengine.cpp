// The engine on its own thread, driven as the desktop app drives it: profiles and commands go to
// its thread, snapshots and events come back. Under ThreadSanitizer (make sanitize) this is where
// a handover between the two threads that it cannot see would show.
#include "EchoServer.h"

#include "engine/Profile.h"
#include "engine/TunnelEngine.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <algorithm>

using namespace wstunnel;

namespace {

// The engine's latest snapshot and every event it reported, as the desktop's views keep them.
struct Observer
{
    explicit Observer(TunnelEngine &engine)
    {
        QObject::connect(&engine, &TunnelEngine::snapshotUpdated, &context,
                         [this](const EngineSnapshot &snapshot) { latest = snapshot; });
        QObject::connect(&engine, &TunnelEngine::eventsRecorded, &context,
                         [this](const QList<EngineEvent> &batch) { events += batch; });
    }

    MappingState stateOf(const QString &mappingId) const
    {
        const MappingStats *stats = latest.mapping(mappingId);
        return stats ? stats->state : MappingState::Off;
    }
    int countOf(EngineEvent::Kind kind) const
    {
        return int(std::count_if(events.cbegin(), events.cend(),
                                 [kind](const EngineEvent &event) { return event.kind == kind; }));
    }

    QObject context;
    EngineSnapshot latest;
    QList<EngineEvent> events;
};

// The built-in remote and one mapping through it to targetPort, on a port the system picks.
Profile echoProfile(quint16 targetPort)
{
    Profile profile = Profile::firstRun();
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("Echo");
    mapping.remoteId = profile.remotes.first().id;
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = targetPort;
    profile.mappings.append(mapping);
    return profile;
}

// A loopback port that nothing listens on right now.
quint16 unusedLoopbackPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

quint16 portOf(const QString &endpoint)
{
    return quint16(endpoint.section(QLatin1Char(':'), -1).toUInt());
}

} // namespace

class TunnelEngineTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // A mapping comes up, carries a connection that the snapshots and events report, the user
    // closes that connection, switches the mapping off, and the engine ends cleanly.
    void mappingCarriesAConnectionUntilTheUserClosesIt()
    {
        EchoServer echo;
        Profile profile = echoProfile(echo.serverPort());
        const QString mappingId = profile.mappings.first().id;
        TunnelEngine engine(nullptr, 50);
        Observer observer(engine);
        engine.apply(profile, {});
        QTRY_COMPARE_WITH_TIMEOUT(observer.stateOf(mappingId), MappingState::Listening, 15000);
        const quint16 port = portOf(observer.latest.mapping(mappingId)->listenEndpoint);
        QVERIFY(port != 0);

        QTcpSocket connection;
        connection.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(connection.waitForConnected(5000));
        connection.write("through the engine");
        QByteArray echoed;
        QTRY_VERIFY_WITH_TIMEOUT((echoed += connection.readAll()) == "through the engine", 10000);
        QTRY_VERIFY_WITH_TIMEOUT(observer.stateOf(mappingId) == MappingState::Active &&
                                     observer.latest.mapping(mappingId)->bytesIn == 18,
                                 10000);
        const MappingStats *stats = observer.latest.mapping(mappingId);
        QCOMPARE(stats->bytesOut, quint64(18));
        QCOMPARE(stats->channels.size(), 1);
        QCOMPARE(stats->channels.first().bytesIn, quint64(18));
        QCOMPARE(stats->channels.first().bytesOut, quint64(18));
        QCOMPARE(observer.countOf(EngineEvent::Kind::SessionUp), 1);
        QTRY_COMPARE(observer.countOf(EngineEvent::Kind::ChannelOpened), 1);

        engine.closeChannel(mappingId, stats->channels.first().id);
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), QAbstractSocket::UnconnectedState, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(observer.countOf(EngineEvent::Kind::ChannelClosed), 1, 10000);
        const auto closed =
            std::find_if(observer.events.cbegin(), observer.events.cend(), [](const auto &event) {
                return event.kind == EngineEvent::Kind::ChannelClosed;
            });
        QVERIFY2(closed->reason.contains(QLatin1String("closed by the user")),
                 qPrintable(closed->reason));

        profile.mappings.first().enabled = false;
        engine.apply(profile, {});
        QTRY_COMPARE_WITH_TIMEOUT(observer.stateOf(mappingId), MappingState::Off, 10000);
        QTcpSocket refused;
        refused.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(!refused.waitForConnected(5000));
    }

    // Edits that pile up faster than the engine's thread takes them arrive all, in order: the
    // last one is what runs.
    void editsInQuickSuccessionEndInTheLastOne()
    {
        EchoServer echo;
        Profile profile = echoProfile(echo.serverPort());
        MappingConfig &mapping = profile.mappings.first();
        TunnelEngine engine(nullptr, 50);
        Observer observer(engine);
        for (int edit = 0; edit < 40; ++edit) {
            mapping.enabled = edit % 2 == 0;
            engine.apply(profile, {});
        }
        mapping.enabled = true;
        mapping.bindPort = unusedLoopbackPort();
        engine.apply(profile, {});
        QTRY_VERIFY_WITH_TIMEOUT(observer.stateOf(mapping.id) == MappingState::Listening &&
                                     observer.latest.mapping(mapping.id)->listenEndpoint ==
                                         mapping.bindEndpoint(),
                                 15000);
        QTcpSocket connection;
        connection.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
        QVERIFY(connection.waitForConnected(5000));
        connection.write("last edit");
        QByteArray echoed;
        QTRY_VERIFY_WITH_TIMEOUT((echoed += connection.readAll()) == "last edit", 10000);
    }
};

QTEST_GUILESS_MAIN(TunnelEngineTest)
#include "tst_tunnelengine.moc"
