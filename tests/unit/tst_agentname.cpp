// Agent names and patterns, and the token files of a hub that bind tokens to them.
#include "hub/AgentName.h"
#include "hub/HubTokenFile.h"
#include "server/TokenStore.h"

#include <QTemporaryDir>
#include <QTest>

using namespace wstunnel;

class AgentNameTest : public QObject
{
    Q_OBJECT

private:
    bool load(const QByteArray &content, Identity::Kind kind, TokenStore *store, QString *error)
    {
        const QString path = m_dir.filePath(QStringLiteral("tokens"));
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            file.write(content) != content.size())
            return false;
        file.close();
        return HubTokenFile::load(path, kind, store, error);
    }

    QTemporaryDir m_dir;

private Q_SLOTS:
    void names_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << QStringLiteral("devbox") << true;
        QTest::newRow("dots dashes underscores") << QStringLiteral("ci-7.eu_west") << true;
        QTest::newRow("longest") << QString(63, QLatin1Char('a')) << true;
        QTest::newRow("too long") << QString(64, QLatin1Char('a')) << false;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("space") << QStringLiteral("dev box") << false;
        QTest::newRow("star") << QStringLiteral("ci-*") << false;
        QTest::newRow("colon") << QStringLiteral("dev:box") << false;
        QTest::newRow("non-ascii") << QStringLiteral("d\u00e9v") << false;
    }

    void names()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(AgentName::isValid(name), valid);
    }

    void patterns_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("matches");
        QTest::newRow("exact") << QStringLiteral("devbox") << QStringLiteral("devbox") << true;
        QTest::newRow("case matters")
            << QStringLiteral("devbox") << QStringLiteral("DevBox") << false;
        QTest::newRow("prefix") << QStringLiteral("ci-*") << QStringLiteral("ci-runner-7") << true;
        QTest::newRow("prefix alone") << QStringLiteral("ci-*") << QStringLiteral("ci-") << true;
        QTest::newRow("other prefix")
            << QStringLiteral("ci-*") << QStringLiteral("devbox") << false;
        QTest::newRow("any") << QStringLiteral("*") << QStringLiteral("devbox") << true;
        QTest::newRow("middle") << QStringLiteral("eu-*-db") << QStringLiteral("eu-west-2-db")
                                << true;
        QTest::newRow("middle, wrong end")
            << QStringLiteral("eu-*-db") << QStringLiteral("eu-west-2-dbx") << false;
        QTest::newRow("no partial match")
            << QStringLiteral("dev") << QStringLiteral("devbox") << false;
    }

    void patterns()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, name);
        QFETCH(bool, matches);
        QVERIFY(AgentName::isValidPattern(pattern));
        QCOMPARE(AgentName::matches(pattern, name), matches);
    }

    void noPatternsAdmitEveryName()
    {
        QVERIFY(AgentName::matchesAny({}, QStringLiteral("anything")));
        QVERIFY(AgentName::matchesAny({QStringLiteral("a"), QStringLiteral("ci-*")},
                                      QStringLiteral("ci-1")));
        QVERIFY(!AgentName::matchesAny({QStringLiteral("a")}, QStringLiteral("b")));
    }

    void desktopTokenLinesNameTheAgentsTheyReach()
    {
        QVERIFY(m_dir.isValid());
        TokenStore store;
        QString error;
        QVERIFY2(load("# desktops\nall-agents\n\nscoped  devbox ci-*\n", Identity::Kind::Desktop,
                      &store, &error),
                 qPrintable(error));
        QCOMPARE(store.size(), 2);
        const std::optional<Identity> all = store.identify("all-agents");
        QVERIFY(all);
        QCOMPARE(all->kind, Identity::Kind::Desktop);
        QVERIFY(all->agents.isEmpty());
        const std::optional<Identity> scoped = store.identify("scoped");
        QVERIFY(scoped);
        QCOMPARE(scoped->agents, QStringList({QStringLiteral("devbox"), QStringLiteral("ci-*")}));
        // Logs name the line, never the token.
        QVERIFY(scoped->name.startsWith(QStringLiteral("token of line 4 of ")));
        QVERIFY(!scoped->name.contains(QStringLiteral("scoped")));
    }

    void agentTokenLinesBindOneName()
    {
        TokenStore store;
        QString error;
        QVERIFY2(load("bound devbox\nany *\n", Identity::Kind::Agent, &store, &error),
                 qPrintable(error));
        const std::optional<Identity> bound = store.identify("bound");
        QVERIFY(bound);
        QCOMPARE(bound->kind, Identity::Kind::Agent);
        QCOMPARE(bound->agents, QStringList{QStringLiteral("devbox")});
        QCOMPARE(store.identify("any")->agents, QStringList{QStringLiteral("*")});
    }

    void badTokenFiles_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<bool>("agents");
        QTest::addColumn<QString>("error");
        QTest::newRow("agent without name")
            << QByteArray("lonely\n") << true << QStringLiteral("line 1 of");
        QTest::newRow("agent with two names")
            << QByteArray("t devbox other\n") << true << QStringLiteral("'TOKEN NAME'");
        QTest::newRow("bad pattern") << QByteArray("t dev/box\n") << false
                                     << QStringLiteral("'dev/box' is not an agent name");
        QTest::newRow("token twice")
            << QByteArray("same\nsame devbox\n") << false << QStringLiteral("line 2 of");
        QTest::newRow("nothing") << QByteArray("# only a comment\n") << false
                                 << QStringLiteral("holds no token");
    }

    void badTokenFiles()
    {
        QFETCH(QByteArray, content);
        QFETCH(bool, agents);
        QFETCH(QString, error);
        TokenStore store;
        QString message;
        QVERIFY(!load(content, agents ? Identity::Kind::Agent : Identity::Kind::Desktop, &store,
                      &message));
        QVERIFY2(message.contains(error), qPrintable(message));
        // The message never repeats a token.
        QVERIFY(!message.contains(QStringLiteral("lonely")) &&
                !message.contains(QStringLiteral("same")));
    }

    void aTokenMayNotServeDesktopsAndAgentsAlike()
    {
        TokenStore store;
        QString error;
        QVERIFY(load("shared\n", Identity::Kind::Desktop, &store, &error));
        QVERIFY(!load("shared devbox\n", Identity::Kind::Agent, &store, &error));
        QVERIFY2(error.contains(QStringLiteral("tokens of their own")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(AgentNameTest)
#include "tst_agentname.moc"
