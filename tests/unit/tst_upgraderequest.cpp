#include "server/UpgradeRequest.h"

#include <QTest>

using namespace wstunnel;

class UpgradeRequestTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void findsTheEndOfTheHead()
    {
        QCOMPARE(UpgradeRequest::headEnd("GET / HTTP/1.1\r\nHost: x\r\n"), qsizetype(-1));
        const QByteArray full = "GET / HTTP/1.1\r\nHost: x\r\n\r\nframe";
        QCOMPARE(UpgradeRequest::headEnd(full), full.indexOf("frame"));
    }

    void parsesAnUpgrade()
    {
        QString error;
        const auto request = UpgradeRequest::parse(
            "GET /tunnel?x=1 HTTP/1.1\r\nHost: devbox\r\nUpgrade: WebSocket\r\n"
            "Connection: Upgrade\r\nAuthorization: Bearer t0k\r\nX-Gw: a\r\nx-gw: b\r\n\r\n",
            &error);
        QVERIFY2(request, qPrintable(error));
        QCOMPARE(request->method, QByteArray("GET"));
        QCOMPARE(request->path, QByteArray("/tunnel"));
        QCOMPARE(request->header("authorization"), QByteArray("Bearer t0k"));
        QCOMPARE(request->header("x-gw"), QByteArray("a, b"));
        QVERIFY(request->isWebSocketUpgrade());
    }

    void rejectsGarbage_data()
    {
        QTest::addColumn<QByteArray>("head");
        QTest::newRow("binary") << QByteArray("\x16\x03\x01\x02\x00\r\n\r\n");
        QTest::newRow("http/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\n");
        QTest::newRow("bad header") << QByteArray("GET / HTTP/1.1\r\nno colon here\r\n\r\n");
    }

    void rejectsGarbage()
    {
        QFETCH(QByteArray, head);
        QString error;
        QVERIFY(!UpgradeRequest::parse(head, &error));
        QVERIFY(!error.isEmpty());
    }

    void plainGetIsNoUpgrade()
    {
        QString error;
        const auto request = UpgradeRequest::parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &error);
        QVERIFY(request);
        QVERIFY(!request->isWebSocketUpgrade());
    }
};

QTEST_APPLESS_MAIN(UpgradeRequestTest)
#include "tst_upgraderequest.moc"
