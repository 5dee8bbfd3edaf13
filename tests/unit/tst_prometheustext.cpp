#include "metrics/MetricsServer.h"
#include "metrics/PrometheusText.h"
#include "metrics/TunnelMetrics.h"

#include <QTest>

using namespace wstunnel;

class PrometheusTextTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void writesFamiliesAndSamples()
    {
        PrometheusText out;
        out.family(QStringLiteral("wstunnel_sessions"), QStringLiteral("gauge"),
                   QStringLiteral("Sessions open now."));
        out.sample(3);
        out.family(QStringLiteral("wstunnel_channels"), QStringLiteral("gauge"),
                   QStringLiteral("Channels\nby state \\ kind."));
        out.sample(18446744073709551615ULL, {{QStringLiteral("state"), QStringLiteral("open")},
                                             {QStringLiteral("kind"), QStringLiteral("tcp")}});
        QCOMPARE(out.text(), QByteArray("# HELP wstunnel_sessions Sessions open now.\n"
                                        "# TYPE wstunnel_sessions gauge\n"
                                        "wstunnel_sessions 3\n"
                                        "# HELP wstunnel_channels Channels\\nby state \\\\ kind.\n"
                                        "# TYPE wstunnel_channels gauge\n"
                                        "wstunnel_channels{state=\"open\",kind=\"tcp\"} "
                                        "18446744073709551615\n"));
    }

    // An agent name comes from a token file and the command line; whatever it holds, the label
    // must stay one label.
    void escapesLabelValues_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("escaped");
        QTest::newRow("plain") << "devbox"
                               << "devbox";
        QTest::newRow("quote") << "a\"b"
                               << "a\\\"b";
        QTest::newRow("backslash") << "a\\b"
                                   << "a\\\\b";
        QTest::newRow("newline") << "a\nb"
                                 << "a\\nb";
        QTest::newRow("utf-8 stays") << QStringLiteral("gerät") << QStringLiteral("gerät");
    }

    void escapesLabelValues()
    {
        QFETCH(QString, value);
        QTEST(PrometheusText::escapeLabelValue(value), "escaped");
    }

    void namesFailureReasonsForLabels()
    {
        QCOMPARE(TunnelMetrics::reasonLabel(FailureCode::NotAllowed),
                 QStringLiteral("not_allowed"));
        QCOMPARE(TunnelMetrics::reasonLabel(FailureCode::Refused), QStringLiteral("refused"));
        QCOMPARE(TunnelMetrics::reasonLabel(FailureCode::TimedOut), QStringLiteral("timed_out"));
    }

    void parsesTheMetricsAddress_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("address");
        QTest::addColumn<int>("port");
        QTest::newRow("port only is loopback") << "9100"
                                               << "127.0.0.1" << 9100;
        QTest::newRow("address") << "0.0.0.0:9100"
                                 << "0.0.0.0" << 9100;
        QTest::newRow("localhost") << "localhost:9100"
                                   << "127.0.0.1" << 9100;
        QTest::newRow("ipv6") << "[::1]:0"
                              << "::1" << 0;
    }

    void parsesTheMetricsAddress()
    {
        QFETCH(QString, text);
        QString error;
        const auto endpoint = MetricsServer::parseEndpoint(text, &error);
        QVERIFY2(endpoint, qPrintable(error));
        QTEST(endpoint->address.toString(), "address");
        QTEST(int(endpoint->port), "port");
    }

    void refusesABadMetricsAddress()
    {
        QString error;
        QVERIFY(!MetricsServer::parseEndpoint(QStringLiteral("metrics.example:9100"), &error));
        QCOMPARE(error, QStringLiteral("--metrics: 'metrics.example' is not an IP address"));
        QVERIFY(!MetricsServer::parseEndpoint(QStringLiteral("99999"), &error));
        QCOMPARE(error, QStringLiteral("--metrics: '99999' is not [HOST:]PORT"));
    }
};

QTEST_GUILESS_MAIN(PrometheusTextTest)
#include "tst_prometheustext.moc"
