#include "GuiTestEnvironment.h"
#include "engine/FileSecretStore.h"
#include "engine/ProfileStore.h"
#include "hub/AgentName.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace wstunnel;

class TestProfileStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void roundTripKeepsEveryField();
    void agentReachesTheClientAsWstunnelAgentDoes();
    void profileWithoutAgentLoadsAndIsWrittenAsBefore();
    void builtInRemoteReadsBackUnchanged();
    void refusesNewerVersion();
    void refusesInvalidFiles_data();
    void refusesInvalidFiles();
    void writeIsAtomicAndLeavesNoTemporaryFile();
    void secretFileIsPrivateAndKeepsTokensOutOfProfile();

private:
    static Profile sampleProfile();
};

Profile TestProfileStore::sampleProfile()
{
    Profile profile = Profile::firstRun();
    RemoteConfig dev;
    dev.id = Profile::newId();
    dev.name = QStringLiteral("Dev server");
    dev.url = QUrl(QStringLiteral("wss://devbox.example.com:8443/tunnel"));
    dev.caFile = QStringLiteral("/etc/ssl/dev-ca.pem");
    dev.pinSha256 = QByteArray(32, 'p').toBase64();
    dev.trustedCertificateSha256 = QByteArray(32, '\x11').toHex();
    dev.clientCertFile = QStringLiteral("/home/me/client.pem");
    dev.clientKeyFile = QStringLiteral("/home/me/client.key");
    dev.proxyMode = ClientSettings::ProxyMode::Manual;
    dev.proxyUrl = QUrl(QStringLiteral("http://proxy.corp:3128"));
    dev.headers = {{"X-Team", "backend"}, {"X-Trace", "1 2 3"}};
    profile.remotes.append(dev);
    RemoteConfig throughHub;
    throughHub.id = Profile::newId();
    throughHub.name = QStringLiteral("Lab box through the hub");
    throughHub.url = QUrl(QStringLiteral("wss://hub.example.com/"));
    throughHub.agent = QStringLiteral("lab-1");
    profile.remotes.append(throughHub);

    MappingConfig postgres;
    postgres.id = Profile::newId();
    postgres.name = QStringLiteral("PostgreSQL");
    postgres.remoteId = dev.id;
    postgres.bindPort = 15432;
    postgres.targetHost = QStringLiteral("db.internal");
    postgres.targetPort = 5432;
    profile.mappings.append(postgres);
    MappingConfig redis = postgres;
    redis.id = Profile::newId();
    redis.name = QStringLiteral("Redis");
    redis.remoteId = profile.remotes.first().id;
    redis.bindHost = QStringLiteral("::1");
    redis.bindPort = 16379;
    redis.targetHost = QStringLiteral("127.0.0.1");
    redis.targetPort = 6379;
    redis.enabled = false;
    profile.mappings.append(redis);
    MappingConfig socks;
    socks.id = Profile::newId();
    socks.name = QStringLiteral("Browser");
    socks.remoteId = dev.id;
    socks.direction = ForwardSpec::Direction::Dynamic;
    socks.bindPort = 1080;
    profile.mappings.append(socks);
    return profile;
}

void TestProfileStore::roundTripKeepsEveryField()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("nested/profile.json"));
    const Profile profile = sampleProfile();
    QString error;
    QVERIFY2(ProfileStore::write(path, profile, &error), qPrintable(error));
    const std::optional<Profile> read = ProfileStore::read(path, &error);
    QVERIFY2(read, qPrintable(error));
    QVERIFY(*read == profile);
    QCOMPARE(read->mappings.at(1).bindHost, QStringLiteral("::1"));
    QCOMPARE(read->remotes.at(1).headers.size(), 2);
    QCOMPARE(read->remotes.at(2).agent, QStringLiteral("lab-1"));
    QCOMPARE(read->mappings.at(2).direction, ForwardSpec::Direction::Dynamic);
    QCOMPARE(read->mappings.at(2).targetEndpoint(), QStringLiteral("SOCKS"));
}

void TestProfileStore::agentReachesTheClientAsWstunnelAgentDoes()
{
    const Profile profile = sampleProfile();
    const ClientSettings throughHub = profile.remotes.at(2).toClientSettings();
    QCOMPARE(throughHub.headers.size(), 1);
    QCOMPARE(throughHub.headers.first().first, QByteArray(AgentName::kReachHeader));
    QCOMPARE(throughHub.headers.first().second, QByteArray("lab-1"));
    // A remote without an agent adds nothing to its own headers.
    QCOMPARE(profile.remotes.at(1).toClientSettings().headers, profile.remotes.at(1).headers);
}

void TestProfileStore::profileWithoutAgentLoadsAndIsWrittenAsBefore()
{
    const QByteArray older = R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"r","name":"Dev","url":"ws://127.0.0.1:8080/"}]})";
    QString error;
    const std::optional<Profile> read = ProfileStore::fromJson(older, &error);
    QVERIFY2(read, qPrintable(error));
    QVERIFY(read->remotes.first().agent.isEmpty());
    QVERIFY(!ProfileStore::toJson(*read).contains("\"agent\""));
}

// Found by fuzz/profile: the built-in remote kept a URL from the file that saving dropped, so a
// profile changed when the app saved it unchanged.
void TestProfileStore::builtInRemoteReadsBackUnchanged()
{
    const QByteArray json = R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"r","name":"This computer","builtIn":true,"url":"ws://elsewhere/"}]})";
    QString error;
    const std::optional<Profile> read = ProfileStore::fromJson(json, &error);
    QVERIFY2(read, qPrintable(error));
    QVERIFY(read->remotes.first().url.isEmpty());
    const std::optional<Profile> again =
        ProfileStore::fromJson(ProfileStore::toJson(*read), &error);
    QVERIFY2(again, qPrintable(error));
    QVERIFY(*again == *read);
}

void TestProfileStore::refusesNewerVersion()
{
    QJsonObject root = QJsonDocument::fromJson(ProfileStore::toJson(sampleProfile())).object();
    root.insert(QStringLiteral("version"), ProfileStore::kFormatVersion + 1);
    QString error;
    QVERIFY(!ProfileStore::fromJson(QJsonDocument(root).toJson(), &error));
    QVERIFY2(error.contains(QStringLiteral("newer")), qPrintable(error));
}

void TestProfileStore::refusesInvalidFiles_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected");
    QTest::newRow("garbage") << QByteArray("{ not json") << QStringLiteral("invalid JSON");
    QTest::newRow("foreign") << QByteArray(R"({"format":"other","version":1})")
                             << QStringLiteral("not a WSTunnel profile");
    QTest::newRow("no version") << QByteArray(R"({"format":"wstunnel-profile"})")
                                << QStringLiteral("version");
    QTest::newRow("bad url") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"a","name":"A","url":"http://x"}]})")
                             << QStringLiteral("ws://");
    // Found by fuzz/profile: an invalid proxy URL was loaded and then saved as an empty one.
    QTest::newRow("bad proxy url") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"a","name":"A","url":"ws://x/","proxy":{"mode":"manual",
        "url":"htt0,\n   oxy.corp:3128"}}]})")
                                   << QStringLiteral("invalid proxy URL");
    QTest::newRow("bad agent") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"a","name":"A","url":"ws://x/","agent":"dev box"}]})")
                               << QStringLiteral("no agent name");
    QTest::newRow("unknown remote") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "mappings":[{"id":"m","name":"M","remote":"nope","direction":"local","protocol":"tcp",
        "bindHost":"127.0.0.1","bindPort":1,"targetHost":"h","targetPort":2}]})")
                                    << QStringLiteral("unknown remote");
    QTest::newRow("bad port") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"r","name":"R","builtIn":true}],
        "mappings":[{"id":"m","name":"M","remote":"r","direction":"local","protocol":"tcp",
        "bindHost":"127.0.0.1","bindPort":70000,"targetHost":"h","targetPort":2}]})")
                              << QStringLiteral("invalid address or port");
    // Found by fuzz/profile: a port beyond int's range was converted to int (undefined).
    QTest::newRow("huge port") << QByteArray(R"({"format":"wstunnel-profile","version":1,
        "remotes":[{"id":"r","name":"R","builtIn":true}],
        "mappings":[{"id":"m","name":"M","remote":"r","direction":"local","protocol":"tcp",
        "bindHost":"127.0.0.1","bindPort":5.4e21,"targetHost":"h","targetPort":2}]})")
                               << QStringLiteral("invalid address or port");
}

void TestProfileStore::refusesInvalidFiles()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    QString error;
    QVERIFY(!ProfileStore::fromJson(json, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
}

void TestProfileStore::writeIsAtomicAndLeavesNoTemporaryFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("profile.json"));
    QString error;
    QVERIFY(ProfileStore::write(path, sampleProfile(), &error));
    QVERIFY(ProfileStore::write(path, Profile::firstRun(), &error));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("profile.json")});
    QVERIFY(*ProfileStore::read(path, &error) == Profile::firstRun());
}

void TestProfileStore::secretFileIsPrivateAndKeepsTokensOutOfProfile()
{
    QTemporaryDir dir;
    const QString secretsPath = dir.filePath(QStringLiteral("secrets/tokens.json"));
    FileSecretStore secrets(secretsPath);
    QString error;
    QVERIFY2(secrets.write(QStringLiteral("remote/a/token"), "s3cret-token", &error),
             qPrintable(error));
    const QFileDevice::Permissions permissions = QFileInfo(secretsPath).permissions();
    QVERIFY(permissions.testFlags(QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    QVERIFY(!(permissions & (QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                             QFileDevice::ReadOther | QFileDevice::WriteOther)));
    QCOMPARE(*secrets.read(QStringLiteral("remote/a/token"), &error), QByteArray("s3cret-token"));
    QCOMPARE(*secrets.read(QStringLiteral("remote/b/token"), &error), QByteArray());
    QVERIFY(secrets.remove(QStringLiteral("remote/a/token"), &error));
    QCOMPARE(*secrets.read(QStringLiteral("remote/a/token"), &error), QByteArray());

    QVERIFY(!ProfileStore::toJson(sampleProfile()).contains("token"));
}

QTEST_GUILESS_MAIN(TestProfileStore)
#include "tst_profilestore.moc"
