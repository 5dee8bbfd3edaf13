#include "engine/FileSecretStore.h"
#include "ui/keychain/KeychainSecretStore.h"

#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace wstunnel;

// The desktop app's keychain store on a machine where no keychain service answers (here: no
// D-Bus session bus): it says so once and keeps tokens in the private file, where a token saved
// by a session without keychain is also found.
class TestKeychainSecretStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void keepsTokensInPrivateFileWithoutKeychain();
    void findsTokenSavedWithoutKeychain();

private:
    QTemporaryDir m_dir;
};

void TestKeychainSecretStore::initTestCase()
{
    QVERIFY(m_dir.isValid());
    qunsetenv("WSTUNNEL_SECRET_BACKEND");
    qputenv("DBUS_SESSION_BUS_ADDRESS",
            QByteArray("unix:path=") + QFile::encodeName(m_dir.filePath(QStringLiteral("no-bus"))));
}

void TestKeychainSecretStore::keepsTokensInPrivateFileWithoutKeychain()
{
    const QString path = m_dir.filePath(QStringLiteral("first/tokens.json"));
    KeychainSecretStore secrets(path);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^no keychain available .*; keeping "
                                                           "tokens in .*/first/tokens\\.json")));
    QTest::failOnWarning(QRegularExpression(QStringLiteral("no keychain available")));
    QString error;
    QVERIFY2(secrets.write(QStringLiteral("remote/a/token"), "s3cret-token", &error),
             qPrintable(error));
    QVERIFY2(secrets.write(QStringLiteral("remote/b/token"), "other-token", &error),
             qPrintable(error));

    const QFileDevice::Permissions permissions = QFileInfo(path).permissions();
    QVERIFY(permissions.testFlags(QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    QVERIFY(!(permissions & (QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                             QFileDevice::ReadOther | QFileDevice::WriteOther)));
    FileSecretStore file(path);
    QCOMPARE(*file.read(QStringLiteral("remote/a/token"), &error), QByteArray("s3cret-token"));
    QCOMPARE(*secrets.read(QStringLiteral("remote/b/token"), &error), QByteArray("other-token"));

    QVERIFY2(secrets.remove(QStringLiteral("remote/a/token"), &error), qPrintable(error));
    QCOMPARE(*file.read(QStringLiteral("remote/a/token"), &error), QByteArray());
    QVERIFY2(secrets.write(QStringLiteral("remote/b/token"), QByteArray(), &error),
             qPrintable(error));
    QCOMPARE(*file.read(QStringLiteral("remote/b/token"), &error), QByteArray());
}

void TestKeychainSecretStore::findsTokenSavedWithoutKeychain()
{
    const QString path = m_dir.filePath(QStringLiteral("second/tokens.json"));
    QString error;
    QVERIFY2(FileSecretStore(path).write(QStringLiteral("remote/a/token"), "saved-earlier", &error),
             qPrintable(error));
    KeychainSecretStore secrets(path);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^no keychain available")));
    QCOMPARE(*secrets.read(QStringLiteral("remote/a/token"), &error), QByteArray("saved-earlier"));
}

QTEST_GUILESS_MAIN(TestKeychainSecretStore)
#include "tst_keychainsecretstore.moc"
