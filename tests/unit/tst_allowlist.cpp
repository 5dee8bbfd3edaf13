#include "server/AllowList.h"

#include <QSignalSpy>
#include <QTest>

using namespace wstunnel;

class AllowListTest : public QObject
{
    Q_OBJECT

private:
    // Runs a resolution to completion; names used here resolve from /etc/hosts or not at all.
    static TargetResolution decide(AllowList &list, const QString &host, quint16 port,
                                   ChannelTransport transport = ChannelTransport::Tcp)
    {
        QObject context;
        std::optional<TargetResolution> answer;
        list.resolve(host, port, transport, &context,
                     [&](const TargetResolution &r) { answer = r; });
        if (!QTest::qWaitFor([&] { return answer.has_value(); }, 5000))
            return TargetResolution{{}, port, FailureCode::TimedOut, QStringLiteral("no answer")};
        return *answer;
    }

    static AllowList make(const QStringList &rules)
    {
        AllowList list;
        QString error;
        for (const QString &rule : rules) {
            if (!list.addRule(rule, &error))
                qFatal("%s", qPrintable(error));
        }
        return list;
    }

private Q_SLOTS:
    void parsesRules_data()
    {
        QTest::addColumn<QString>("rule");
        QTest::addColumn<bool>("valid");
        QTest::newRow("name and port") << "db.internal:5432" << true;
        QTest::newRow("any port") << "127.0.0.1:*" << true;
        QTest::newRow("cidr") << "10.0.0.0/8:443" << true;
        QTest::newRow("ipv6 in brackets") << "[::1]:*" << true;
        QTest::newRow("ipv6 cidr") << "[fd00::]/8:22" << true;
        QTest::newRow("no port") << "db.internal" << false;
        QTest::newRow("empty port") << "db.internal:" << false;
        QTest::newRow("port zero") << "db:0" << false;
        QTest::newRow("port too big") << "db:70000" << false;
        QTest::newRow("bad cidr prefix") << "10.0.0.0/33:1" << false;
        QTest::newRow("bad cidr address") << "10.0.0.300/8:1" << false;
        QTest::newRow("bare ipv6") << "::1:22" << false;
        QTest::newRow("udp") << "dns.internal:53/udp" << true;
        QTest::newRow("udp, cidr and any port") << "10.0.0.0/8:*/udp" << true;
        QTest::newRow("explicit tcp") << "db:5432/tcp" << true;
        QTest::newRow("udp without port") << "dns.internal/udp" << false;
    }

    void parsesRules()
    {
        QFETCH(QString, rule);
        QFETCH(bool, valid);
        AllowList list;
        QString error;
        QCOMPARE(list.addRule(rule, &error), valid);
        QCOMPARE(error.isEmpty(), valid);
        if (!valid)
            QVERIFY2(error.contains(rule), qPrintable(error));
    }

    void loopbackDefaults()
    {
        AllowList list;
        list.addLoopbackDefaults();
        QCOMPARE(decide(list, QStringLiteral("127.0.0.1"), 5432).addresses,
                 QList<QHostAddress>{QHostAddress(QStringLiteral("127.0.0.1"))});
        QVERIFY(!decide(list, QStringLiteral("127.1.2.3"), 1).addresses.isEmpty());
        QVERIFY(!decide(list, QStringLiteral("::1"), 1).addresses.isEmpty());
        QVERIFY(!decide(list, QStringLiteral("localhost"), 80).addresses.isEmpty());
        const TargetResolution refused = decide(list, QStringLiteral("192.168.1.1"), 80);
        QVERIFY(refused.addresses.isEmpty());
        QCOMPARE(refused.code, FailureCode::NotAllowed);
        QCOMPARE(refused.reason, QStringLiteral("192.168.1.1:80 is not in the allow-list"));
    }

    void portsAreChecked()
    {
        AllowList list = make({QStringLiteral("127.0.0.1:5432")});
        QVERIFY(!decide(list, QStringLiteral("127.0.0.1"), 5432).addresses.isEmpty());
        QCOMPARE(decide(list, QStringLiteral("127.0.0.1"), 5433).code, FailureCode::NotAllowed);
    }

    void cidrBlocks()
    {
        AllowList list = make({QStringLiteral("10.1.0.0/16:*"), QStringLiteral("[fd00::]/8:*")});
        QVERIFY(!decide(list, QStringLiteral("10.1.200.3"), 9).addresses.isEmpty());
        QVERIFY(decide(list, QStringLiteral("10.2.0.1"), 9).addresses.isEmpty());
        QVERIFY(!decide(list, QStringLiteral("fd12::1"), 9).addresses.isEmpty());
        QVERIFY(!decide(list, QStringLiteral("[fd12::1]"), 9).addresses.isEmpty());
        // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
        QVERIFY(!decide(list, QStringLiteral("::ffff:10.1.0.9"), 9).addresses.isEmpty());
    }

    void namesMatchCaseInsensitivelyAndNeverLeakIntoAddresses()
    {
        AllowList list = make({QStringLiteral("LocalHost:22")});
        QVERIFY(!decide(list, QStringLiteral("localhost"), 22).addresses.isEmpty());
        // A name rule does not admit the address the name stands for, nor other names.
        QCOMPARE(decide(list, QStringLiteral("127.0.0.1"), 22).code, FailureCode::NotAllowed);
        QCOMPARE(decide(list, QStringLiteral("otherhost"), 22).code, FailureCode::NotAllowed);
    }

    // A plain rule is TCP only and a /udp rule UDP only, whatever the host and port.
    void transportsAreKeptApart()
    {
        AllowList list = make({QStringLiteral("127.0.0.1:5432"), QStringLiteral("127.0.0.2:53/udp"),
                               QStringLiteral("localhost:5353/udp")});
        QVERIFY(!decide(list, QStringLiteral("127.0.0.1"), 5432).addresses.isEmpty());
        const TargetResolution tcpOnly =
            decide(list, QStringLiteral("127.0.0.1"), 5432, ChannelTransport::Udp);
        QCOMPARE(tcpOnly.code, FailureCode::NotAllowed);
        QCOMPARE(tcpOnly.reason, QStringLiteral("127.0.0.1:5432/udp is not in the allow-list"));
        QVERIFY(!decide(list, QStringLiteral("127.0.0.2"), 53, ChannelTransport::Udp)
                     .addresses.isEmpty());
        QCOMPARE(decide(list, QStringLiteral("127.0.0.2"), 53).code, FailureCode::NotAllowed);
        QVERIFY(!decide(list, QStringLiteral("localhost"), 5353, ChannelTransport::Udp)
                     .addresses.isEmpty());
        QCOMPARE(decide(list, QStringLiteral("localhost"), 5353).code, FailureCode::NotAllowed);
    }

    void loopbackDefaultsCoverUdp()
    {
        AllowList list;
        list.addLoopbackDefaults();
        QVERIFY(!decide(list, QStringLiteral("127.0.0.1"), 53, ChannelTransport::Udp)
                     .addresses.isEmpty());
        QVERIFY(
            !decide(list, QStringLiteral("::1"), 53, ChannelTransport::Udp).addresses.isEmpty());
        QVERIFY(!decide(list, QStringLiteral("localhost"), 53, ChannelTransport::Udp)
                     .addresses.isEmpty());
        QCOMPARE(decide(list, QStringLiteral("192.168.1.1"), 53, ChannelTransport::Udp).reason,
                 QStringLiteral("192.168.1.1:53/udp is not in the allow-list"));
    }

    void refusalNeedsNoLookup()
    {
        // With no rule that could match, the name is never sent to a resolver.
        AllowList list = make({QStringLiteral("127.0.0.1:80")});
        const TargetResolution r = decide(list, QStringLiteral("db.example"), 5432);
        QCOMPARE(r.code, FailureCode::NotAllowed);
        QCOMPARE(r.reason, QStringLiteral("db.example:5432 is not in the allow-list"));
    }
};

QTEST_GUILESS_MAIN(AllowListTest)
#include "tst_allowlist.moc"
