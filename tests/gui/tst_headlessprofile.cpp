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
