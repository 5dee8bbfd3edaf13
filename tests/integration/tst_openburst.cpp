// A connection pool opening all its connections at once: opens beyond what may resolve or
// connect at the same time wait in a bounded queue instead of failing.
#include "EchoServer.h"
#include "TunnelFixture.h"

#include "channel/Channel.h"
#include "forward/ForwardListener.h"
#include "session/TunnelSession.h"
#include "util/DescriptorLimit.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <memory>
#include <vector>

using namespace wstunnel;

namespace {

// Connections that say "ping" through a port at once; each is served once its echo is back.
class Burst
{
public:
    Burst(int count, quint16 port)
    {
        for (int i = 0; i < count; ++i) {
            auto socket = std::make_unique<QTcpSocket>();
            QTcpSocket *raw = socket.get();
            QObject::connect(raw, &QTcpSocket::connected, raw, [raw] { raw->write("ping"); });
            raw->connectToHost(QHostAddress::LocalHost, port);
            m_sockets.push_back(std::move(socket));
        }
    }

    int served() const
    {
        int count = 0;
        for (const auto &socket : m_sockets)
            count += socket->peek(4) == "ping" ? 1 : 0;
        return count;
    }
    int closed() const
    {
        int count = 0;
        for (const auto &socket : m_sockets)
            count += socket->state() == QAbstractSocket::UnconnectedState ? 1 : 0;
        return count;
    }

private:
    std::vector<std::unique_ptr<QTcpSocket>> m_sockets;
};

// A port whose connects never complete (its accept queue is full), so channels to it stay
// opening for as long as the connect timeout allows.
class BlackHole
{
public:
    BlackHole()
    {
        m_listener.setListenBacklogSize(0);
        m_listener.listen(QHostAddress::LocalHost, 0);
        m_listener.pauseAccepting();
        m_filler.connectToHost(QHostAddress::LocalHost, m_listener.serverPort());
        m_filler.waitForConnected(5000);
    }
    quint16 port() const { return m_listener.serverPort(); }

private:
    QTcpServer m_listener;
    QTcpSocket m_filler;
};

} // namespace

class TestOpenBurst : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        // Every connection holds four descriptors in this process: both ends, twice.
        QVERIFY(DescriptorLimit::raiseToHardLimit() >= 10000);
    }

    void twoThousandConnectionsInOneBurstAreAllServed()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        QVERIFY(port != 0);
        const Burst burst(2000, port);
        QTRY_COMPARE_WITH_TIMEOUT(burst.served(), 2000, 60000);
        QCOMPARE(burst.closed(), 0);
    }

    // With room for only a few opens at a time, the rest of a burst waits its turn.
    void opensBeyondThePendingLimitWait()
    {
        EchoServer echo;
        SessionLimits limits;
        limits.maxPendingOpens = 4;
        TunnelFixture fixture(limits);
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        const Burst burst(300, port);
        QTRY_COMPARE_WITH_TIMEOUT(burst.served(), 300, 30000);
        QCOMPARE(burst.closed(), 0);
    }

    // Beyond the queue's bound an open fails, and says so.
    void opensBeyondTheQueueFailWithLimitReached()
    {
        BlackHole blackHole;
        SessionLimits limits;
        limits.maxPendingOpens = 2;
        limits.maxQueuedOpens = 3;
        limits.connectTimeoutMs = 60000;
        TunnelFixture fixture(limits);
        QVERIFY(fixture.start());
        QSignalSpy closedChannels(fixture.clientSession(), &TunnelSession::channelClosed);
        const quint16 port = fixture.forwardTo(blackHole.port());
        const Burst burst(7, port);
        QTRY_COMPARE(closedChannels.size(), 2);
        for (const QList<QVariant> &arguments : std::as_const(closedChannels)) {
            const auto summary = arguments.at(0).value<ChannelSummary>();
            QVERIFY2(summary.error.contains(QStringLiteral("limit reached")),
                     qPrintable(summary.error));
        }
        QTRY_COMPARE(burst.closed(), 2);
        // The five within bounds still wait for their target.
        QCOMPARE(fixture.serverSession()->channels().size(), qsizetype(5));
    }
};

QTEST_GUILESS_MAIN(TestOpenBurst)
#include "tst_openburst.moc"
