#include "protocol/ChannelWindow.h"

#include <QTest>

using namespace wstunnel;

class ChannelWindowTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void senderIsLimitedByPeerWindow()
    {
        ChannelWindow window(1000);
        QCOMPARE(window.sendable(), quint64(0));
        window.setPeerWindow(100);
        QCOMPARE(window.sendable(), quint64(100));
        window.recordSent(60);
        QCOMPARE(window.sendable(), quint64(40));
        window.recordSent(40);
        QCOMPARE(window.sendable(), quint64(0));
    }

    void creditReopensTheWindow()
    {
        ChannelWindow window(1000);
        window.setPeerWindow(100);
        window.recordSent(100);
        QVERIFY(window.applyCredit(30, 100));
        QCOMPARE(window.sendable(), quint64(30));
        QCOMPARE(window.peerConsumed(), quint64(30));
        // A peer may grow its window with a credit.
        QVERIFY(window.applyCredit(30, 200));
        QCOMPARE(window.sendable(), quint64(130));
    }

    void inconsistentCreditIsRejected()
    {
        ChannelWindow window(1000);
        window.setPeerWindow(100);
        window.recordSent(50);
        QVERIFY(!window.applyCredit(51, 100)); // more consumed than sent
        QVERIFY(window.applyCredit(40, 100));
        QVERIFY(!window.applyCredit(39, 100)); // going backwards
        QCOMPARE(window.peerConsumed(), quint64(40));
    }

    void receiverAcceptsOnlyInOrderDataInsideWindow()
    {
        ChannelWindow window(100);
        QVERIFY(!window.acceptIncoming(1, 10)); // gap
        QVERIFY(window.acceptIncoming(0, 60));
        QVERIFY(!window.acceptIncoming(0, 10));  // duplicate
        QVERIFY(!window.acceptIncoming(60, 41)); // beyond the window
        QVERIFY(window.acceptIncoming(60, 40));
        QCOMPARE(window.receivedOffset(), quint64(100));
        QCOMPARE(window.buffered(), quint64(100));
    }

    void creditIsDueAfterAQuarterOfTheWindow()
    {
        ChannelWindow window(100);
        QVERIFY(window.acceptIncoming(0, 100));
        window.recordConsumed(24);
        QVERIFY(!window.creditDue());
        window.recordConsumed(1);
        QVERIFY(window.creditDue());
        QCOMPARE(window.takeCredit(), quint64(25));
        QVERIFY(!window.creditDue());
        QCOMPARE(window.buffered(), quint64(75));
        // The advertised limit moved: 25 more bytes may arrive, not 26.
        QVERIFY(!window.acceptIncoming(100, 26));
        QVERIFY(window.acceptIncoming(100, 25));
    }

    void aChangedWindowKeepsWhatWasGranted()
    {
        ChannelWindow window(100);
        QVERIFY(window.acceptIncoming(0, 40));
        window.recordConsumed(40);
        window.setReceiveWindow(400);
        QCOMPARE(window.takeCredit(), quint64(40));
        QCOMPARE(window.grantedLimit(), quint64(440));
        QVERIFY(window.acceptIncoming(40, 300));
        window.recordConsumed(100);
        // Announcing a smaller window does not take back the bytes granted before it.
        window.setReceiveWindow(50);
        QCOMPARE(window.takeCredit(), quint64(140));
        QCOMPARE(window.grantedLimit(), quint64(440));
        QVERIFY(!window.acceptIncoming(340, 101));
        QVERIFY(window.acceptIncoming(340, 100));
        window.recordConsumed(300);
        QCOMPARE(window.takeCredit(), quint64(440));
        QCOMPARE(window.grantedLimit(), quint64(490));
    }

    void senderAndReceiverAgreeOverAStream()
    {
        // A simulated transfer: whatever the receiver grants, the sender never overruns it.
        ChannelWindow sender(0);
        ChannelWindow receiver(4096);
        sender.setPeerWindow(receiver.receiveWindow());
        quint64 delivered = 0;
        for (int step = 0; step < 10000 && delivered < 1'000'000; ++step) {
            const quint64 n = qMin<quint64>(sender.sendable(), 1000 + step % 700);
            if (n > 0) {
                QVERIFY(receiver.acceptIncoming(sender.sentOffset(), n));
                sender.recordSent(n);
            }
            const quint64 drain = qMin<quint64>(receiver.buffered(), 900);
            receiver.recordConsumed(drain);
            delivered += drain;
            QVERIFY(receiver.buffered() <= receiver.receiveWindow());
            if (receiver.creditDue())
                QVERIFY(sender.applyCredit(receiver.takeCredit(), receiver.receiveWindow()));
        }
        QVERIFY(delivered >= 1'000'000);
    }
};

QTEST_APPLESS_MAIN(ChannelWindowTest)
#include "tst_channelwindow.moc"
