#include "server/TokenStore.h"

#include <QTemporaryFile>
#include <QTest>

using namespace wstunnel;

class TokenStoreTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void acceptsOnlyKnownTokens()
    {
        TokenStore store;
        store.add("alpha");
        store.add("  beta \n");
        QVERIFY(store.accepts("alpha"));
        QVERIFY(store.accepts("beta"));
        QVERIFY(!store.accepts("alph"));
        QVERIFY(!store.accepts("alphaa"));
        QVERIFY(!store.accepts(""));
        store.add("");
        QVERIFY(!store.accepts(""));
        QCOMPARE(store.size(), 2);
    }

    void loadsFilesWithComments()
    {
        QTemporaryFile file;
        QVERIFY(file.open());
        file.write("# team tokens\n\nfirst-token\n  second-token  \n#disabled\n");
        file.close();
        TokenStore store;
        QString error;
        QVERIFY2(store.loadFile(file.fileName(), &error), qPrintable(error));
        QCOMPARE(store.size(), 2);
        QVERIFY(store.accepts("second-token"));
        QVERIFY(!store.accepts("#disabled"));
        QVERIFY(!store.accepts("disabled"));
    }

    // Logs name the credential a session proved, never the token itself.
    void identifiesWhichTokenWasPresented()
    {
        QTemporaryFile file;
        QVERIFY(file.open());
        file.write("# team tokens\nfirst-token\n\nsecond-token\n");
        file.close();
        TokenStore store;
        QString error;
        QVERIFY2(store.loadFile(file.fileName(), &error), qPrintable(error));
        store.add("agent-secret", QStringLiteral("WSTUNNEL_TOKEN"), Identity::Kind::Agent);

        const std::optional<Identity> second = store.identify("second-token");
        QVERIFY(second);
        QCOMPARE(second->name, QStringLiteral("token of line 4 of %1").arg(file.fileName()));
        QCOMPARE(second->kind, Identity::Kind::Desktop);
        const std::optional<Identity> agent = store.identify("agent-secret");
        QVERIFY(agent);
        QCOMPARE(agent->name, QStringLiteral("WSTUNNEL_TOKEN"));
        QCOMPARE(agent->kind, Identity::Kind::Agent);
        QVERIFY(!store.identify("third-token"));
        QVERIFY(!store.identify(""));
    }

    void reportsUnusableFiles()
    {
        TokenStore store;
        QString error;
        QVERIFY(!store.loadFile(QStringLiteral("/nonexistent/tokens"), &error));
        QVERIFY2(error.startsWith(QStringLiteral("cannot read token file /nonexistent/tokens")),
                 qPrintable(error));

        QTemporaryFile file;
        QVERIFY(file.open());
        file.write("# nothing here\n\n");
        file.close();
        QVERIFY(!store.loadFile(file.fileName(), &error));
        QCOMPARE(error, QStringLiteral("token file %1 holds no token").arg(file.fileName()));
    }

    void parsesBearerHeaders()
    {
        QCOMPARE(TokenStore::bearerToken("Bearer abc"), QByteArray("abc"));
        QCOMPARE(TokenStore::bearerToken("bearer   abc  "), QByteArray("abc"));
        QCOMPARE(TokenStore::bearerToken("Basic abc"), QByteArray());
        QCOMPARE(TokenStore::bearerToken("Bearer"), QByteArray());
        QCOMPARE(TokenStore::bearerToken(""), QByteArray());
    }
};

QTEST_APPLESS_MAIN(TokenStoreTest)
#include "tst_tokenstore.moc"
