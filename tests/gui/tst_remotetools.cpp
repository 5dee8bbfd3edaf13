#include "WindowFixture.h"
#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "server/TunnelServer.h"
#include "ui/RemoteDialog.h"

#include <QAction>
#include <QClipboard>
#include <QFile>
#include <QGuiApplication>
#include <QListWidget>
#include <QProcess>
#include <QPushButton>
#include <QStatusBar>
#include <QTcpSocket>

#include <optional>

using namespace wstunnel;

// The remote dialog's connection test, a mapping copied as a command line, and mappings imported
// from an OpenSSH config file, each against the real thing.
class TestRemoteTools : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void init();
    void cleanup();

    void testConnectionReportsWhatWorks();
    void testConnectionReportsRefusedToken();
    void testConnectionReportsUnreachableRemote();
    void copiedCommandLineRunsTheMapping();
    void openSshForwardsBecomeMappings();

private:
    // What the dialog's test reports for this remote and token, after clicking its button.
    QString testResult(const RemoteConfig &remote, const QByteArray &token);
    RemoteConfig remoteFor(const QUrl &url) const;

    WindowFixture m_fixture;
    std::optional<TunnelServer> m_server;
};

void TestRemoteTools::init()
{
    QVERIFY(m_fixture.create());
    TokenStore tokens;
    tokens.add("good-token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    ServerSettings settings;
    settings.name = QStringLiteral("devbox under test");
    m_server.emplace(settings, tokens, allowList);
    QString error;
    QVERIFY2(m_server->listen(&error), qPrintable(error));
}

void TestRemoteTools::cleanup()
{
    m_server.reset();
    m_fixture.destroy();
}

RemoteConfig TestRemoteTools::remoteFor(const QUrl &url) const
{
    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Devbox");
    remote.url = url;
    return remote;
}

QString TestRemoteTools::testResult(const RemoteConfig &remote, const QByteArray &token)
{
    RemoteDialog dialog(remote, token, m_fixture.window());
    dialog.show();
    auto *button = dialog.findChild<QPushButton *>(QStringLiteral("testConnectionButton"));
    if (!button || !button->isEnabled())
        return QStringLiteral("no test button");
    QTest::mouseClick(button, Qt::LeftButton);
    [[maybe_unused]] const bool answered =
        QTest::qWaitFor([&] { return !dialog.testResult().isEmpty(); }, 15000);
    return dialog.testResult();
}

void TestRemoteTools::testConnectionReportsWhatWorks()
{
    const QString result = testResult(remoteFor(QUrl(m_server->url())), "good-token");
    QVERIFY2(result.startsWith(QStringLiteral("Works: 127.0.0.1:%1 reachable, no TLS (ws://), "
                                              "token accepted")
                                   .arg(m_server->serverPort())),
             qPrintable(result));
    QVERIFY2(result.contains(QStringLiteral("\"devbox under test\" speaks protocol version ")),
             qPrintable(result));
}

void TestRemoteTools::testConnectionReportsRefusedToken()
{
    const RemoteConfig remote = remoteFor(QUrl(m_server->url()));
    const QString result = testResult(remote, "wrong-token");
    QCOMPARE(result, QStringLiteral("Reachable, but refused: %1 refused the token (HTTP 401): edit "
                                    "the remote and check its token")
                         .arg(remote.url.toDisplayString()));
}

void TestRemoteTools::testConnectionReportsUnreachableRemote()
{
    const quint16 port = unusedLoopbackPort();
    const QString result =
        testResult(remoteFor(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))), "good-token");
    QCOMPARE(result, QStringLiteral("Not reachable: 127.0.0.1:%1 refused the connection: is the "
                                    "remote running?")
                         .arg(port));
}

void TestRemoteTools::copiedCommandLineRunsTheMapping()
{
    const RemoteConfig remote = remoteFor(QUrl(m_server->url()));
    m_fixture.controller()->setRemote(remote, QByteArray("good-token"));
    MappingConfig mapping = m_fixture.echoMapping(unusedLoopbackPort());
    mapping.remoteId = remote.id;
    mapping.enabled = false;
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);

    auto *action = m_fixture.find<QAction>(QStringLiteral("copyCommandLineAction"));
    QVERIFY(action && action->isEnabled());
    action->trigger();
    const QString line = QGuiApplication::clipboard()->text();
    QCOMPARE(line, QStringLiteral("wstunnel --headless --remote %1 --token-file ~/.wstunnel-token "
                                  "-L 127.0.0.1:%2:127.0.0.1:%3")
                       .arg(remote.url.toString())
                       .arg(mapping.bindPort)
                       .arg(m_fixture.echo()->serverPort()));
    QVERIFY(!line.contains(QStringLiteral("good-token")));
    auto *status = m_fixture.window()->statusBar();
    QVERIFY2(status->currentMessage().contains(QStringLiteral("WSTUNNEL_TOKEN")),
             qPrintable(status->currentMessage()));

    // What was copied runs: the same words, with the token in the file it names.
    QFile tokenFile(m_fixture.dir(QStringLiteral("token")));
    QVERIFY(tokenFile.open(QIODevice::WriteOnly));
    tokenFile.write("good-token\n");
    tokenFile.close();
    QStringList arguments = line.split(QLatin1Char(' '));
    QCOMPARE(arguments.takeFirst(), QStringLiteral("wstunnel"));
    arguments.replace(arguments.indexOf(QStringLiteral("~/.wstunnel-token")), tokenFile.fileName());
    QProcess process;
    process.start(qEnvironmentVariable("WSTUNNEL_BIN_DIR") + QStringLiteral("/wstunnel"),
                  arguments);
    QVERIFY(process.waitForStarted());
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT((output += process.readAllStandardOutput()).contains("\n"), 10000);
    QVERIFY2(output.startsWith("forwarding 127.0.0.1:" + QByteArray::number(mapping.bindPort)),
             output.constData());
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "copied line"), QByteArray("copied line"));
    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

void TestRemoteTools::openSshForwardsBecomeMappings()
{
    const RemoteConfig remote = remoteFor(QUrl(m_server->url()));
    m_fixture.controller()->setRemote(remote, QByteArray("good-token"));
    QFile config(m_fixture.dir(QStringLiteral("ssh_config")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("Host devbox\n"
                 "    HostName devbox.internal\n"
                 "    LocalForward 15432 db.internal:5432\n"
                 "    RemoteForward 9000 localhost:8080\n"
                 "    DynamicForward 1080\n"
                 "    RemoteForward 1081\n");
    config.close();
    // Into the remote selected in the list, whatever is first.
    auto *remotes = m_fixture.find<QListWidget>(QStringLiteral("remoteList"));
    remotes->setCurrentRow(1);
    QCOMPARE(m_fixture.window()->selectedRemoteId(), remote.id);

    QCOMPARE(m_fixture.window()->importSshForwards(config.fileName()), 3);
    const QList<MappingConfig> mappings = m_fixture.controller()->profile().mappings;
    QCOMPARE(mappings.size(), 3);
    const MappingConfig &local = mappings.at(0);
    QCOMPARE(local.name, QStringLiteral("devbox 127.0.0.1:15432"));
    QCOMPARE(local.direction, ForwardSpec::Direction::Local);
    QCOMPARE(local.bindPort, quint16(15432));
    QCOMPARE(local.targetEndpoint(), QStringLiteral("db.internal:5432"));
    QCOMPARE(local.remoteId, remote.id);
    QVERIFY(!local.enabled);
    const MappingConfig &reverse = mappings.at(1);
    QCOMPARE(reverse.direction, ForwardSpec::Direction::Reverse);
    QCOMPARE(reverse.bindPort, quint16(9000));
    QCOMPARE(reverse.targetEndpoint(), QStringLiteral("localhost:8080"));
    QVERIFY(!reverse.enabled);
    const MappingConfig &socks = mappings.at(2);
    QCOMPARE(socks.direction, ForwardSpec::Direction::Dynamic);
    QCOMPARE(socks.bindPort, quint16(1080));
    QVERIFY(!socks.enabled);
    const QString message = m_fixture.window()->statusBar()->currentMessage();
    QVERIFY2(message.contains(QStringLiteral("Imported 3 mapping(s) into the remote \"Devbox\"")),
             qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("line 6 (RemoteForward 1081): a SOCKS proxy on the "
                                             "remote side is not supported")),
             qPrintable(message));
}

QTEST_MAIN(TestRemoteTools)
#include "tst_remotetools.moc"
