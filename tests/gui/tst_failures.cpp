#include "WindowFixture.h"
#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "server/TunnelServer.h"
#include "ui/ActivityModel.h"
#include "ui/ActivityView.h"
#include "ui/MappingTableModel.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QTableView>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUrl>

#include <memory>

using namespace wstunnel;

// Failures show where the user looks: on the mapping, in the status bar and in the activity
// log, worded for the desktop, and a mapping recovers by itself where it can.
class TestFailures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void init() { QVERIFY(m_fixture.create()); }
    void cleanup() { m_fixture.destroy(); }

    void disallowedTargetShowsReasonOnMappingAndInActivity();
    void refusedTokenClosesTheMappingsPort();
    void busyPortIsRetriedUntilItFrees();
    void firstConnectionAfterARemoteRestartSucceeds();

private:
    // A remote of its own in the profile, for the server given.
    RemoteConfig addRemote(const TunnelServer &server, const QByteArray &token);
    QString stateText(int row) const;
    QString stateTip(int row) const;
    // The activity rows (as copied) that contain text.
    QStringList activityRows(const QString &text) const;

    WindowFixture m_fixture;
};

RemoteConfig TestFailures::addRemote(const TunnelServer &server, const QByteArray &token)
{
    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Devbox");
    remote.url = QUrl(server.url());
    m_fixture.controller()->setRemote(remote, token);
    return remote;
}

QString TestFailures::stateText(int row) const
{
    auto *table = m_fixture.find<QTableView>(QStringLiteral("mappingView"));
    return table->model()->index(row, MappingTableModel::StateColumn).data().toString();
}

QString TestFailures::stateTip(int row) const
{
    auto *table = m_fixture.find<QTableView>(QStringLiteral("mappingView"));
    return table->model()
        ->index(row, MappingTableModel::StateColumn)
        .data(Qt::ToolTipRole)
        .toString();
}

QStringList TestFailures::activityRows(const QString &text) const
{
    auto *model = m_fixture.window()->findChild<ActivityModel *>();
    QStringList rows;
    for (int row = 0; model && row < model->rowCount(); ++row) {
        if (model->rowText(row).contains(text))
            rows.append(model->rowText(row));
    }
    return rows;
}

void TestFailures::disallowedTargetShowsReasonOnMappingAndInActivity()
{
    TokenStore tokens;
    tokens.add("token");
    AllowList allowList;
    QString error;
    QVERIFY(allowList.addRule(QStringLiteral("127.0.0.1:%1").arg(m_fixture.echo()->serverPort()),
                              &error));
    TunnelServer server(ServerSettings(), tokens, allowList);
    QVERIFY2(server.listen(&error), qPrintable(error));
    const RemoteConfig remote = addRemote(server, "token");

    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = m_fixture.echoMapping(port);
    mapping.name = QStringLiteral("Forbidden");
    mapping.remoteId = remote.id;
    mapping.targetPort = unusedLoopbackPort();
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Listening, 10000);
    QCOMPARE(stateText(0), QStringLiteral("Listening"));

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    const QString peer = QStringLiteral("127.0.0.1:%1").arg(client.localPort());
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 10000);

    // The mapping no longer claims to listen happily, and says what failed, when and why.
    const QString reason =
        QStringLiteral("127.0.0.1:%1 is not in the allow-list").arg(mapping.targetPort);
    QTRY_COMPARE(stateText(0), QStringLiteral("Connections fail"));
    const QString tip = stateTip(0);
    QVERIFY2(tip.contains(reason), qPrintable(tip));
    QVERIFY2(tip.contains(peer), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("failed at ")), qPrintable(tip));
    auto *status = m_fixture.find<QLabel>(QStringLiteral("statusLabel"));
    QTRY_VERIFY2(status->text().contains(reason), qPrintable(status->text()));

    // The activity log has it with time, mapping, peer and reason.
    QTRY_COMPARE(activityRows(reason).size(), 1);
    const QStringList fields = activityRows(reason).first().split(QLatin1Char('\t'));
    QCOMPARE(fields.size(), int(ActivityModel::ColumnCount));
    QVERIFY(QTime::fromString(fields.at(ActivityModel::TimeColumn), QStringLiteral("HH:mm:ss.zzz"))
                .isValid());
    QCOMPARE(fields.at(ActivityModel::MappingColumn), mapping.name);
    QCOMPARE(fields.at(ActivityModel::EventColumn), QStringLiteral("Connection failed"));
    QCOMPARE(fields.at(ActivityModel::PeerColumn), peer);
    QVERIFY(fields.at(ActivityModel::DetailColumn).contains(reason));
    QCOMPARE(activityRows(QStringLiteral("Connected to the remote")).size(), 1);

    // Filtered to what matters, and copied as text.
    auto *filter = m_fixture.find<QLineEdit>(QStringLiteral("activityFilter"));
    auto *view = m_fixture.find<QTableView>(QStringLiteral("activityView"));
    QVERIFY(filter && view);
    QVERIFY(view->model()->rowCount() >= 2);
    QTest::keyClicks(filter, QStringLiteral("ALLOW-LIST"));
    QCOMPARE(view->model()->rowCount(), 1);
    view->selectAll();
    m_fixture.window()->findChild<ActivityView *>()->copySelection();
    QCOMPARE(QGuiApplication::clipboard()->text(), activityRows(reason).first());
    filter->clear();
    QTest::keyClicks(filter, QStringLiteral("no such event"));
    QCOMPARE(view->model()->rowCount(), 0);
}

void TestFailures::refusedTokenClosesTheMappingsPort()
{
    TokenStore tokens;
    tokens.add("the-right-token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    TunnelServer server(ServerSettings(), tokens, allowList);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));
    const RemoteConfig remote = addRemote(server, "a-wrong-token");

    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = m_fixture.echoMapping(port);
    mapping.remoteId = remote.id;
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Error, 10000);

    // The port is closed, so that a connection fails at once instead of hanging, and the window
    // says so in words for the desktop.
    QTRY_VERIFY(loopbackPortFree(port));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(!client.waitForConnected(5000));
    const QString advice =
        QStringLiteral("%1 refused the token (HTTP 401): edit the remote and check its token. Its "
                       "port was closed so that connections fail at once instead of waiting; it "
                       "opens again when the remote is edited or the mapping switched on again")
            .arg(remote.url.toDisplayString());
    QTRY_COMPARE(stateTip(0), advice);
    auto *status = m_fixture.find<QLabel>(QStringLiteral("statusLabel"));
    QTRY_COMPARE(status->text(), QStringLiteral("%1: Error – %2").arg(mapping.name, advice));
    QVERIFY(!status->text().contains(QStringLiteral("--token-file")));
    QTRY_COMPARE(activityRows(QStringLiteral("Refused by the remote")).size(), 1);
    QVERIFY(activityRows(QStringLiteral("Refused by the remote"))
                .first()
                .contains(QStringLiteral("edit the remote and check its token")));

    // With the right token the port opens again and carries data.
    m_fixture.controller()->setRemote(remote, QByteArray("the-right-token"));
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Listening, 10000);
    QTcpSocket again;
    again.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(again.waitForConnected(5000));
    QCOMPARE(echoThrough(again, "after the fix"), QByteArray("after the fix"));
}

void TestFailures::busyPortIsRetriedUntilItFrees()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const quint16 port = squatter.serverPort();
    const MappingConfig mapping = m_fixture.echoMapping(port);
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Error, 10000);
    QTRY_VERIFY2(stateTip(0).contains(QStringLiteral("WSTunnel tries again every 5 s")),
                 qPrintable(stateTip(0)));

    // Freed: the mapping takes the port without anyone touching it.
    squatter.close();
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Listening, 15000);
    QTRY_COMPARE(stateText(0), QStringLiteral("Listening"));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "freed"), QByteArray("freed"));
}

// The remote goes away (a restart: it forgets the session) while the mapping stays on. A
// connection made while it is away waits, and the first one made once it is back is served.
void TestFailures::firstConnectionAfterARemoteRestartSucceeds()
{
    TokenStore tokens;
    tokens.add("token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    auto server = std::make_unique<TunnelServer>(ServerSettings(), tokens, allowList);
    QString error;
    QVERIFY2(server->listen(&error), qPrintable(error));
    ServerSettings samePort;
    samePort.port = quint16(QUrl(server->url()).port());
    const RemoteConfig remote = addRemote(*server, "token");

    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = m_fixture.echoMapping(port);
    mapping.remoteId = remote.id;
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(m_fixture.stateOf(mapping.id), MappingState::Listening, 10000);
    {
        QTcpSocket before;
        before.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(before.waitForConnected(5000));
        QCOMPARE(echoThrough(before, "before"), QByteArray("before"));
    }

    server.reset();
    QTRY_VERIFY_WITH_TIMEOUT(
        !activityRows(QStringLiteral("Connection to the remote lost")).isEmpty(), 10000);
    QTcpSocket during;
    during.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(during.waitForConnected(5000));
    during.write("made while the remote was away");

    server = std::make_unique<TunnelServer>(samePort, tokens, allowList);
    QVERIFY2(server->listen(&error), qPrintable(error));
    QTcpSocket first;
    first.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(first.waitForConnected(5000));
    QCOMPARE(echoThrough(first, "first after the restart"), QByteArray("first after the restart"));
    QTRY_COMPARE_WITH_TIMEOUT(during.peek(64), QByteArray("made while the remote was away"), 10000);
    // Both connections are open through the mapping, which never showed a failure.
    QTRY_COMPARE(m_fixture.stateOf(mapping.id), MappingState::Active);
    QVERIFY(activityRows(QStringLiteral("Connection failed")).isEmpty());
    // One entry for the outage, however often the client tried in between (the waiting
    // connection made it try at once), and one for its end.
    QTRY_COMPARE(activityRows(QStringLiteral("Connected to the remote")).size(), 2);
    QCOMPARE(activityRows(QStringLiteral("Connection to the remote lost")).size(), 1);
}

QTEST_MAIN(TestFailures)
#include "tst_failures.moc"
