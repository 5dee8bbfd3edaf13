#include "client/ProxyResolver.h"
#include "config/NetworkOptionValues.h"

#include <QTest>

using namespace wstunnel;

// Which proxy a client uses and how the shared network options read; the real proxy traffic is
// in proxy.sh.
class ProxyResolverTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        for (const char *name : {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                 "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"})
            qunsetenv(name);
    }

    void parsesCredentials()
    {
        QString error;
        const auto proxy = ProxyResolver::parse(
            QStringLiteral("http://alice:open%20sesame@proxy.corp:3128"), &error);
        QVERIFY2(proxy, qPrintable(error));
        QCOMPARE(proxy->hostName(), QStringLiteral("proxy.corp"));
        QCOMPARE(proxy->port(), quint16(3128));
        QCOMPARE(proxy->user(), QStringLiteral("alice"));
        QCOMPARE(proxy->password(), QStringLiteral("open sesame"));
        QVERIFY(!ProxyResolver::describe(*proxy).contains(QStringLiteral("sesame")));
    }

    void rejectsWhatIsNoHttpProxy_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("no port") << "http://proxy.corp";
        QTest::newRow("https proxy") << "https://proxy.corp:3128";
        QTest::newRow("socks") << "socks5://proxy.corp:1080";
        QTest::newRow("empty") << "";
    }

    void rejectsWhatIsNoHttpProxy()
    {
        QFETCH(QString, text);
        QString error;
        QVERIFY(!ProxyResolver::parse(text, &error));
        QVERIFY(error.contains(QStringLiteral("http://[USER:PASS@]HOST:PORT")));
    }

    void environmentFollowsTheScheme()
    {
        qputenv("https_proxy", "secure.corp:3128");
        qputenv("http_proxy", "http://plain.corp:8080");
        ClientSettings settings;
        settings.url = QUrl(QStringLiteral("wss://devbox:443/"));
        QCOMPARE(ProxyResolver::proxyFor(settings).hostName(), QStringLiteral("secure.corp"));
        settings.url = QUrl(QStringLiteral("ws://devbox:80/"));
        QCOMPARE(ProxyResolver::proxyFor(settings).hostName(), QStringLiteral("plain.corp"));
    }

    void noProxyAndModeNoneGoDirect()
    {
        qputenv("https_proxy", "http://proxy.corp:3128");
        qputenv("no_proxy", "localhost, .internal");
        ClientSettings settings;
        settings.url = QUrl(QStringLiteral("wss://devbox.internal/"));
        QCOMPARE(ProxyResolver::proxyFor(settings).type(), QNetworkProxy::NoProxy);
        settings.url = QUrl(QStringLiteral("wss://devbox.example.com/"));
        QCOMPARE(ProxyResolver::proxyFor(settings).type(), QNetworkProxy::HttpProxy);
        settings.proxyMode = ClientSettings::ProxyMode::None;
        QCOMPARE(ProxyResolver::proxyFor(settings).type(), QNetworkProxy::NoProxy);
    }

    void manualWinsOverEnvironment()
    {
        qputenv("https_proxy", "http://proxy.corp:3128");
        ClientSettings settings;
        settings.url = QUrl(QStringLiteral("wss://devbox/"));
        settings.proxyMode = ClientSettings::ProxyMode::Manual;
        settings.proxyUrl = QUrl(QStringLiteral("http://bob:pw@other.corp:8080"));
        const QNetworkProxy proxy = ProxyResolver::proxyFor(settings);
        QCOMPARE(proxy.hostName(), QStringLiteral("other.corp"));
        QCOMPARE(proxy.user(), QStringLiteral("bob"));
    }

    void noProxyMatching_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("list");
        QTest::addColumn<bool>("bypassed");
        QTest::newRow("star") << "anything"
                              << "*" << true;
        QTest::newRow("exact") << "devbox"
                               << "devbox" << true;
        QTest::newRow("subdomain") << "a.corp.example"
                                   << "corp.example" << true;
        QTest::newRow("dot suffix") << "a.corp.example"
                                    << ".corp.example" << true;
        QTest::newRow("not a label boundary") << "evilcorp.example"
                                              << "corp.example" << false;
        QTest::newRow("address") << "10.0.0.5"
                                 << "10.0.0.5,other" << true;
        QTest::newRow("empty list") << "devbox"
                                    << "" << false;
    }

    void noProxyMatching()
    {
        QFETCH(QString, host);
        QFETCH(QString, list);
        QTEST(ProxyResolver::bypasses(host, list), "bypassed");
    }

    void headers()
    {
        QString error;
        const auto header =
            NetworkOptionValues::parseHeader(QStringLiteral("X-Gateway-Key:  s3cret "), &error);
        QVERIFY2(header, qPrintable(error));
        QCOMPARE(header->first, QByteArray("X-Gateway-Key"));
        QCOMPARE(header->second, QByteArray("s3cret"));
        QVERIFY(!NetworkOptionValues::parseHeader(QStringLiteral("no colon"), &error));
        QVERIFY(!NetworkOptionValues::parseHeader(QStringLiteral("Bad Name: x"), &error));
        QVERIFY(!NetworkOptionValues::parseHeader(QStringLiteral("Host: elsewhere"), &error));
        QVERIFY(error.contains(QStringLiteral("Host")));
        QVERIFY(!NetworkOptionValues::parseHeader(QStringLiteral("Sec-WebSocket-Key: x"), &error));
    }

    void keepAlive()
    {
        QString error;
        QCOMPARE(NetworkOptionValues::parseKeepAlive(QStringLiteral("2"), &error),
                 std::optional<int>(2000));
        QCOMPARE(NetworkOptionValues::parseKeepAlive(QStringLiteral("0.5"), &error),
                 std::optional<int>(500));
        QVERIFY(!NetworkOptionValues::parseKeepAlive(QStringLiteral("0"), &error));
        QVERIFY(!NetworkOptionValues::parseKeepAlive(QStringLiteral("soon"), &error));
        QVERIFY(error.contains(QStringLiteral("--keepalive")));
    }
};

QTEST_GUILESS_MAIN(ProxyResolverTest)
#include "tst_proxyresolver.moc"
