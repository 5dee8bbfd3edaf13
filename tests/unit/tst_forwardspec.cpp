#include "config/ForwardSpec.h"

#include <QTest>

using namespace wstunnel;

class ForwardSpecTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("bindHost");
        QTest::addColumn<int>("bindPort");
        QTest::addColumn<QString>("targetHost");
        QTest::addColumn<int>("targetPort");
        QTest::newRow("default bind") << "15432:db.internal:5432"
                                      << "127.0.0.1" << 15432 << "db.internal" << 5432;
        QTest::newRow("explicit bind") << "127.0.0.1:16379:127.0.0.1:6379"
                                       << "127.0.0.1" << 16379 << "127.0.0.1" << 6379;
        QTest::newRow("all interfaces") << "*:9000:127.0.0.1:8080"
                                        << "*" << 9000 << "127.0.0.1" << 8080;
        QTest::newRow("empty bind") << ":9000:h:1"
                                    << "*" << 9000 << "h" << 1;
        QTest::newRow("IPv4 any bind") << "0.0.0.0:9000:h:1"
                                       << "0.0.0.0" << 9000 << "h" << 1;
        QTest::newRow("localhost bind") << "localhost:9000:h:1"
                                        << "127.0.0.1" << 9000 << "h" << 1;
        QTest::newRow("ipv6 bind and target") << "[::1]:8080:[fd00::5]:80"
                                              << "::1" << 8080 << "fd00::5" << 80;
        QTest::newRow("port zero picks one") << "0:h:1"
                                             << "127.0.0.1" << 0 << "h" << 1;
    }

    void parses()
    {
        QFETCH(QString, text);
        QString error;
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Local, &error);
        QVERIFY2(spec, qPrintable(error));
        QTEST(spec->bindHost, "bindHost");
        QTEST(int(spec->bindPort), "bindPort");
        QTEST(spec->targetHost, "targetHost");
        QTEST(int(spec->targetPort), "targetPort");
    }

    // '*' binds every interface of both families; an explicit 0.0.0.0 stays IPv4.
    void bindAddressOfAllInterfaces()
    {
        QString error;
        const auto all =
            ForwardSpec::parse(QStringLiteral("*:9000:h:1"), ForwardSpec::Direction::Local, &error);
        QVERIFY2(all, qPrintable(error));
        QCOMPARE(all->bindAddress().protocol(), QAbstractSocket::AnyIPProtocol);
        QCOMPARE(all->bindEndpoint(), QStringLiteral("*:9000"));
        const auto ipv4 = ForwardSpec::parse(QStringLiteral("0.0.0.0:9000:h:1"),
                                             ForwardSpec::Direction::Local, &error);
        QVERIFY2(ipv4, qPrintable(error));
        QCOMPARE(ipv4->bindAddress(), QHostAddress(QHostAddress::AnyIPv4));
        const auto ipv6 = ForwardSpec::parse(QStringLiteral("[::1]:9000:h:1"),
                                             ForwardSpec::Direction::Local, &error);
        QVERIFY2(ipv6, qPrintable(error));
        QCOMPARE(ipv6->bindAddress(), QHostAddress(QHostAddress::LocalHostIPv6));
    }

    void rejects_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("error");
        QTest::newRow("too few fields") << "15432:db"
                                        << "-L '15432:db' is not [BIND:]PORT:HOST:HOSTPORT";
        QTest::newRow("too many fields") << "a:1:b:2:c"
                                         << "-L 'a:1:b:2:c' is not [BIND:]PORT:HOST:HOSTPORT";
        QTest::newRow("bad port") << "x:db:5432"
                                  << "-L 'x:db:5432': 'x' is not a port (0-65535)";
        QTest::newRow("port too big") << "70000:db:5432"
                                      << "-L '70000:db:5432': '70000' is not a port (0-65535)";
        QTest::newRow("target port zero") << "1:db:0"
                                          << "-L '1:db:0': '0' is not a target port (1-65535)";
        QTest::newRow("no target host") << "1::5"
                                        << "-L '1::5' names no target host";
        QTest::newRow("unclosed bracket") << "[::1:1:h:2"
                                          << "-L '[::1:1:h:2' is not [BIND:]PORT:HOST:HOSTPORT";
    }

    void rejects()
    {
        QFETCH(QString, text);
        QFETCH(QString, error);
        QString actual;
        QVERIFY(!ForwardSpec::parse(text, ForwardSpec::Direction::Local, &actual));
        QCOMPARE(actual, error);
    }

    void formatsForHumans()
    {
        QString error;
        const auto spec = ForwardSpec::parse(QStringLiteral("[::1]:8080:db:5432"),
                                             ForwardSpec::Direction::Reverse, &error);
        QVERIFY(spec);
        QCOMPARE(spec->toString(), QStringLiteral("[::1]:8080:db:5432"));
        QCOMPARE(spec->direction, ForwardSpec::Direction::Reverse);
    }

    // Found by fuzz/forwardspec: a zone such as %2 in an IPv6 bind address was taken for a
    // placeholder, so "[fe80::1%2]:8080:db:5432" was printed as "[fe80::18080]:8080:db:5432".
    void formatsIpv6Zones()
    {
        QString error;
        const QString text = QStringLiteral("[fe80::1%2]:8080:db:5432");
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Local, &error);
        QVERIFY2(spec, qPrintable(error));
        QCOMPARE(spec->bindHost, QStringLiteral("fe80::1%2"));
        QCOMPARE(spec->toString(), text);
        QCOMPARE(formatEndpoint(QStringLiteral("fe80::1%1"), 80), QStringLiteral("[fe80::1%1]:80"));
    }

    void udpSuffix_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("udp");
        QTest::addColumn<QString>("formatted");
        QTest::newRow("udp") << "5353:dns.internal:53/udp" << true
                             << "127.0.0.1:5353:dns.internal:53/udp";
        QTest::newRow("udp, ipv6")
            << "[::1]:5353:[fd00::53]:53/UDP" << true << "[::1]:5353:[fd00::53]:53/udp";
        QTest::newRow("explicit tcp") << "8080:web:80/tcp" << false << "127.0.0.1:8080:web:80";
        QTest::newRow("plain") << "8080:web:80" << false << "127.0.0.1:8080:web:80";
    }

    void udpSuffix()
    {
        QFETCH(QString, text);
        QFETCH(bool, udp);
        QFETCH(QString, formatted);
        QString error;
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Local, &error);
        QVERIFY2(spec, qPrintable(error));
        QCOMPARE(spec->transport == ChannelTransport::Udp, udp);
        QCOMPARE(spec->transportSuffix(), udp ? QStringLiteral("/udp") : QString());
        QCOMPARE(spec->toString(), formatted);
        // The same ports over the other transport are another mapping.
        ForwardSpec other = *spec;
        other.transport = udp ? ChannelTransport::Tcp : ChannelTransport::Udp;
        QVERIFY(!(other == *spec));
        QVERIFY(!ForwardSpec::parse(QStringLiteral("5353:dns:53/sctp"),
                                    ForwardSpec::Direction::Local, &error));
        QCOMPARE(error, QStringLiteral("-L '5353:dns:53/sctp': '53/sctp' is not a target port "
                                       "(1-65535)"));
    }

    void dynamic_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("bindHost");
        QTest::addColumn<int>("bindPort");
        QTest::newRow("port only, loopback as in OpenSSH") << "1080"
                                                           << "127.0.0.1" << 1080;
        QTest::newRow("address") << "127.0.0.2:1080"
                                 << "127.0.0.2" << 1080;
        QTest::newRow("all interfaces") << "*:1080"
                                        << "0.0.0.0" << 1080;
        QTest::newRow("localhost") << "localhost:1080"
                                   << "127.0.0.1" << 1080;
        QTest::newRow("ipv6") << "[::1]:1080"
                              << "::1" << 1080;
        QTest::newRow("port zero picks one") << "0"
                                             << "127.0.0.1" << 0;
    }

    void dynamic()
    {
        QFETCH(QString, text);
        QString error;
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Dynamic, &error);
        QVERIFY2(spec, qPrintable(error));
        QCOMPARE(spec->direction, ForwardSpec::Direction::Dynamic);
        QTEST(spec->bindHost, "bindHost");
        QTEST(int(spec->bindPort), "bindPort");
        QVERIFY(spec->targetHost.isEmpty());
        QCOMPARE(spec->transport, ChannelTransport::Tcp);
        QCOMPARE(spec->toString(), spec->bindEndpoint());
    }

    void dynamicRejects()
    {
        QString error;
        QVERIFY(!ForwardSpec::parse(QStringLiteral("1080:db:5432"), ForwardSpec::Direction::Dynamic,
                                    &error));
        QCOMPARE(error, QStringLiteral("-D '1080:db:5432' is not [BIND:]PORT"));
        QVERIFY(
            !ForwardSpec::parse(QStringLiteral("socks"), ForwardSpec::Direction::Dynamic, &error));
        QCOMPARE(error, QStringLiteral("-D 'socks' is not [BIND:]PORT"));
    }

    void endpoints()
    {
        QString host = QStringLiteral("default");
        quint16 port = 0;
        QString error;
        QVERIFY(parseEndpoint(QStringLiteral("8080"), &host, &port, &error));
        QCOMPARE(host, QStringLiteral("default"));
        QCOMPARE(port, quint16(8080));
        QVERIFY(parseEndpoint(QStringLiteral("[::1]:0"), &host, &port, &error));
        QCOMPARE(host, QStringLiteral("::1"));
        QCOMPARE(port, quint16(0));
        QVERIFY(!parseEndpoint(QStringLiteral("host:port"), &host, &port, &error));
        QCOMPARE(error, QStringLiteral("'host:port' is not [HOST:]PORT"));
    }
};

QTEST_APPLESS_MAIN(ForwardSpecTest)
#include "tst_forwardspec.moc"
