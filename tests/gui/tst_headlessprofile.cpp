#include "EchoServer.h"
#include "GuiTestEnvironment.h"
#include "UdpEchoServer.h"
#include "engine/FileSecretStore.h"
#include "engine/ProfileStore.h"

#include <QNetworkDatagram>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTest>
#include <QUdpSocket>

using namespace wstunnel;

// `wstunnel --headless --profile FILE` runs a profile saved by the desktop app, here through the
// built-in remote to an echo server.
class TestHeadlessProfile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void runsSavedProfile();
    void runsSavedReverseMapping();
    void usesTokenSavedByDesktopApp();
    void runsSavedUdpMapping();
    void runsSavedUdpMappingsThroughAHub();
    void refusesUnusableProfile();

private:
    QString m_binary;
    QTemporaryDir m_dir;
};

void TestHeadlessProfile::initTestCase()
{
    isolateGuiTest();
    m_binary = qEnvironmentVariable("WSTUNNEL_BIN_DIR") + QStringLiteral("/wstunnel");
    QVERIFY2(QFile::exists(m_binary), qPrintable(m_binary));
}

void TestHeadlessProfile::runsSavedProfile()
{
    EchoServer echo;
    Profile profile = Profile::firstRun();
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("Echo");
    mapping.remoteId = profile.remotes.first().id;
    mapping.bindPort = unusedLoopbackPort();
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = echo.serverPort();
    profile.mappings.append(mapping);
    MappingConfig off = mapping;
    off.id = Profile::newId();
    off.bindPort = unusedLoopbackPort();
    off.enabled = false;
    profile.mappings.append(off);
    const QString path = m_dir.filePath(QStringLiteral("profile.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, profile, &error));

    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_DATA_HOME"), m_dir.path());
    process.setProcessEnvironment(environment);
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForStarted());
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT((output += process.readAllStandardOutput()).contains("\n"), 10000);
    QCOMPARE(output, QStringLiteral("forwarding 127.0.0.1:%1 -> 127.0.0.1:%2\n")
                         .arg(mapping.bindPort)
                         .arg(echo.serverPort())
                         .toUtf8());
    QVERIFY(loopbackPortFree(off.bindPort));

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "headless profile"), QByteArray("headless profile"));

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
}

void TestHeadlessProfile::runsSavedReverseMapping()
{
    EchoServer echo;
    Profile profile = Profile::firstRun();
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("Reverse echo");
    mapping.remoteId = profile.remotes.first().id;
    mapping.direction = ForwardSpec::Direction::Reverse;
    mapping.bindPort = 0;
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = echo.serverPort();
    profile.mappings.append(mapping);
    const QString path = m_dir.filePath(QStringLiteral("reverse.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, profile, &error));

    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_DATA_HOME"), m_dir.path());
    process.setProcessEnvironment(environment);
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForStarted());
    // The same line as -R, once the remote listens, with the port it picked.
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT((output += process.readAllStandardOutput()).contains("\n"), 10000);
    const QRegularExpression line(
        QStringLiteral("^reverse forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:%1\n$")
            .arg(echo.serverPort()));
    const QRegularExpressionMatch match = line.match(QString::fromUtf8(output));
    QVERIFY2(match.hasMatch(), output.constData());
    const quint16 port = quint16(match.captured(1).toUInt());
    QVERIFY(port != 0);

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "reverse profile"), QByteArray("reverse profile"));

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
}

// A remote that wants a token: the one the desktop app saved for it (WSTUNNEL_SECRET_BACKEND=file
// here, the only store of a build without the GUI) is used, with no WSTUNNEL_TOKEN around.
void TestHeadlessProfile::usesTokenSavedByDesktopApp()
{
    const QByteArray token = "saved-token-4b9e";
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *variable :
         {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"})
        environment.remove(QString::fromLatin1(variable));
    environment.insert(QStringLiteral("XDG_DATA_HOME"), m_dir.path());

    QProcess remoteProcess;
    QProcessEnvironment remoteEnvironment = environment;
    remoteEnvironment.insert(QStringLiteral("WSTUNNEL_TOKEN"), QString::fromLatin1(token));
    remoteProcess.setProcessEnvironment(remoteEnvironment);
    remoteProcess.start(qEnvironmentVariable("WSTUNNEL_BIN_DIR") +
                            QStringLiteral("/wstunnel-remote"),
                        {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                         QStringLiteral("--allow"), QStringLiteral("127.0.0.1:*")});
    QVERIFY(remoteProcess.waitForStarted());
    QByteArray remoteOutput;
    QTRY_VERIFY_WITH_TIMEOUT((remoteOutput += remoteProcess.readAllStandardOutput()).contains("\n"),
                             10000);
    const QRegularExpressionMatch listening =
        QRegularExpression(QStringLiteral("^listening on (ws://127\\.0\\.0\\.1:\\d+/)\n"))
            .match(QString::fromUtf8(remoteOutput));
    QVERIFY2(listening.hasMatch(), remoteOutput.constData());

    EchoServer echo;
    Profile profile = Profile::firstRun();
    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Dev server");
    remote.url = QUrl(listening.captured(1));
    remote.proxyMode = ClientSettings::ProxyMode::None;
    profile.remotes.append(remote);
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("Echo");
    mapping.remoteId = remote.id;
    mapping.bindPort = unusedLoopbackPort();
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = echo.serverPort();
    profile.mappings.append(mapping);
    const QString path = m_dir.filePath(QStringLiteral("with-token.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, profile, &error));
    FileSecretStore secrets(m_dir.filePath(QStringLiteral("wstunnel/tokens.json")));
    QVERIFY2(secrets.write(QStringLiteral("remote/%1/token").arg(remote.id), token, &error),
             qPrintable(error));

    QProcess process;
    environment.remove(QStringLiteral("WSTUNNEL_TOKEN"));
    process.setProcessEnvironment(environment);
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForStarted());
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT((output += process.readAllStandardOutput()).contains("\n"), 10000);
    QCOMPARE(output, QStringLiteral("forwarding 127.0.0.1:%1 -> 127.0.0.1:%2\n")
                         .arg(mapping.bindPort)
                         .arg(echo.serverPort())
                         .toUtf8());
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "through the dev server"), QByteArray("through the dev server"));

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitCode(), 0);
    remoteProcess.terminate();
    QVERIFY(remoteProcess.waitForFinished(10000));
}

// The engine starts UDP mappings through the same client calls as TCP ones; the built-in remote
// allows UDP as it allows TCP.
void TestHeadlessProfile::runsSavedUdpMapping()
{
    UdpEchoServer echo;
    Profile profile = Profile::firstRun();
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("DNS");
    mapping.remoteId = profile.remotes.first().id;
    mapping.protocol = MappingConfig::Protocol::Udp;
    mapping.bindPort = 0;
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = echo.port();
    profile.mappings.append(mapping);
    const QString path = m_dir.filePath(QStringLiteral("udp.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, profile, &error));

    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_DATA_HOME"), m_dir.path());
    process.setProcessEnvironment(environment);
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForStarted());
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT((output += process.readAllStandardOutput()).contains("\n"), 10000);
    const QRegularExpression line(
        QStringLiteral("^forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:%1/udp\n$")
            .arg(echo.port()));
    const QRegularExpressionMatch match = line.match(QString::fromUtf8(output));
    QVERIFY2(match.hasMatch(), output.constData());
    const quint16 port = quint16(match.captured(1).toUInt());

    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    // The first datagram may arrive before the session to the built-in remote is up, and is then
    // dropped, as UDP may; a client retries.
    QByteArray reply;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            if (!reply.isEmpty())
                return true;
            if (client.hasPendingDatagrams()) {
                reply = client.receiveDatagram().data();
                return true;
            }
            client.writeDatagram("udp profile", QHostAddress::LocalHost, port);
            return false;
        }(),
        10000);
    QCOMPARE(reply, QByteArray("udp profile"));

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
}

// A profile's UDP mappings of a remote that is a hub with an agent: local and reverse, through
// wstunnel-remote hub and wstunnel-remote agent, as the desktop app runs them.
void TestHeadlessProfile::runsSavedUdpMappingsThroughAHub()
{
    const QByteArray token = "hub-desktop-token-7c1d";
    const QByteArray agentToken = "hub-agent-token-5e02";
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *variable : {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
                                 "HTTPS_PROXY", "ALL_PROXY", "WSTUNNEL_TOKEN"})
        environment.remove(QString::fromLatin1(variable));
    environment.insert(QStringLiteral("XDG_DATA_HOME"), m_dir.path());
    const QString remoteBinary =
        qEnvironmentVariable("WSTUNNEL_BIN_DIR") + QStringLiteral("/wstunnel-remote");
    const QString agentTokens = m_dir.filePath(QStringLiteral("agents.tokens"));
    const QString agentTokenFile = m_dir.filePath(QStringLiteral("agent.token"));
    const QString desktopTokens = m_dir.filePath(QStringLiteral("desktops.tokens"));
    for (const auto &[path, content] :
         {std::pair{agentTokens, agentToken + " devbox\n"}, std::pair{agentTokenFile, agentToken},
          std::pair{desktopTokens, token}}) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content);
    }

    QProcess hub;
    hub.setProcessEnvironment(environment);
    hub.start(remoteBinary, {QStringLiteral("hub"), QStringLiteral("--listen"),
                             QStringLiteral("127.0.0.1:0"), QStringLiteral("--token-file"),
                             desktopTokens, QStringLiteral("--agent-token-file"), agentTokens});
    QVERIFY(hub.waitForStarted());
    QByteArray hubOutput;
    QTRY_VERIFY_WITH_TIMEOUT((hubOutput += hub.readAllStandardOutput()).contains("\n"), 10000);
    const QRegularExpressionMatch listening =
        QRegularExpression(QStringLiteral("^listening on (ws://127\\.0\\.0\\.1:\\d+/)\n"))
            .match(QString::fromUtf8(hubOutput));
    QVERIFY2(listening.hasMatch(), hubOutput.constData());
    UdpEchoServer echo;
    QProcess agent;
    agent.setProcessEnvironment(environment);
    agent.start(remoteBinary,
                {QStringLiteral("agent"), QStringLiteral("--hub"), listening.captured(1),
                 QStringLiteral("--name"), QStringLiteral("devbox"), QStringLiteral("--token-file"),
                 agentTokenFile, QStringLiteral("--allow"),
                 QStringLiteral("127.0.0.1:%1/udp").arg(echo.port())});
    QVERIFY(agent.waitForStarted());
    QByteArray agentOutput;
    QTRY_VERIFY_WITH_TIMEOUT(
        (agentOutput += agent.readAllStandardOutput()).contains("as devbox (active)\n"), 10000);

    Profile profile = Profile::firstRun();
    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Hub");
    remote.url = QUrl(listening.captured(1));
    remote.agent = QStringLiteral("devbox");
    remote.proxyMode = ClientSettings::ProxyMode::None;
    profile.remotes.append(remote);
    MappingConfig local;
    local.id = Profile::newId();
    local.name = QStringLiteral("DNS");
    local.remoteId = remote.id;
    local.protocol = MappingConfig::Protocol::Udp;
    local.bindPort = 0;
    local.targetHost = QStringLiteral("127.0.0.1");
    local.targetPort = echo.port();
    profile.mappings.append(local);
    MappingConfig reverse = local;
    reverse.id = Profile::newId();
    reverse.name = QStringLiteral("DNS back");
    reverse.direction = ForwardSpec::Direction::Reverse;
    profile.mappings.append(reverse);
    const QString path = m_dir.filePath(QStringLiteral("udp-hub.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, profile, &error));
    FileSecretStore secrets(m_dir.filePath(QStringLiteral("wstunnel/tokens.json")));
    QVERIFY2(secrets.write(QStringLiteral("remote/%1/token").arg(remote.id), token, &error),
             qPrintable(error));

    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForStarted());
    const QRegularExpression localLine(
        QStringLiteral("^forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:%1/udp$")
            .arg(echo.port()),
        QRegularExpression::MultilineOption);
    const QRegularExpression reverseLine(
        QStringLiteral("^reverse forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:%1/udp$")
            .arg(echo.port()),
        QRegularExpression::MultilineOption);
    QByteArray output;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            output += process.readAllStandardOutput();
            const QString text = QString::fromUtf8(output);
            return localLine.match(text).hasMatch() && reverseLine.match(text).hasMatch();
        }(),
        15000);
    const QString text = QString::fromUtf8(output);
    const quint16 localPort = quint16(localLine.match(text).captured(1).toUInt());
    const quint16 reversePort = quint16(reverseLine.match(text).captured(1).toUInt());

    // The reverse port listens on the agent; both go desktop -> hub -> agent and back.
    for (const quint16 port : {localPort, reversePort}) {
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        client.writeDatagram("udp through the hub", QHostAddress::LocalHost, port);
        QVERIFY(QTest::qWaitFor([&] { return client.hasPendingDatagrams(); }, 10000));
        QCOMPARE(client.receiveDatagram().data(), QByteArray("udp through the hub"));
    }
    QCOMPARE(echo.datagramsReceived(), 2);

    for (QProcess *child : {&process, &agent, &hub}) {
        child->terminate();
        QVERIFY(child->waitForFinished(10000));
        QCOMPARE(child->exitCode(), 0);
    }
}

void TestHeadlessProfile::refusesUnusableProfile()
{
    const QString path = m_dir.filePath(QStringLiteral("newer.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"format":"wstunnel-profile","version":7})");
    file.close();
    QProcess process;
    process.start(m_binary, {QStringLiteral("--headless"), QStringLiteral("--profile"), path});
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(process.readAllStandardError().contains("newer WSTunnel"));
}

QTEST_GUILESS_MAIN(TestHeadlessProfile)
#include "tst_headlessprofile.moc"
