#include "DelayRelay.h"
#include "StreamPump.h"
#include "TunnelFixture.h"

#include "session/TunnelSession.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace wstunnel;

namespace {

constexpr qint64 kMiB = 1024 * 1024;
// 25 ms each way: a 50 ms round trip, a laptop to a far dev server.
constexpr int kOneWayDelayMs = 25;

// A target that takes what arrives, as fast as it comes or at most `bytesPerTick` every 10 ms.
class Sink : public QObject
{
public:
    explicit Sink(qint64 bytesPerTick = 0)
        : m_bytesPerTick(bytesPerTick)
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            m_socket.reset(m_server.nextPendingConnection());
            if (m_bytesPerTick > 0) {
                // Qt would otherwise read ahead into its own buffer, and the kernel's would
                // never fill.
                m_socket->setReadBufferSize(m_bytesPerTick);
                m_tick.start(10);
            } else {
                connect(m_socket.get(), &QTcpSocket::readyRead, this, [this] { take(-1); });
            }
        });
        connect(&m_tick, &QTimer::timeout, this, [this] { take(m_bytesPerTick); });
    }

    quint16 port() const { return m_server.serverPort(); }
    qint64 received() const { return m_received; }

private:
    void take(qint64 most)
    {
        m_received += m_socket->read(most < 0 ? m_socket->bytesAvailable() : most).size();
    }

    QTcpServer m_server;
    std::unique_ptr<QTcpSocket> m_socket;
    QTimer m_tick;
    qint64 m_bytesPerTick;
    qint64 m_received = 0;
};

// The remote's channel of the one connection the test makes: the receiving end of an upload.
Channel *receivingChannel(TunnelFixture &fixture)
{
    TunnelSession *session = fixture.serverSession();
    return session && !session->channels().isEmpty() ? session->channels().first() : nullptr;
}

} // namespace

// Receive-window autotuning end to end: both ends in this process, the WebSocket through a relay
// that delays it by a 50 ms round trip. What is asserted is the window the receiving end
// announces, never a speed.
class WindowTuningTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void fastTransferGrowsTheWindow()
    {
        const SessionLimits limits;
        Sink sink;
        TunnelFixture fixture(limits);
        std::unique_ptr<DelayRelay> relay;
        QVERIFY(fixture.start([&](quint16 serverPort) {
            relay = std::make_unique<DelayRelay>(serverPort, kOneWayDelayMs);
            return relay->port();
        }));
        const quint16 port = fixture.forwardTo(sink.port());
        const qint64 size = 256 * kMiB;
        StreamPump pump(port, size, 7);
        QTRY_VERIFY(receivingChannel(fixture));
        Channel *channel = receivingChannel(fixture);
        QCOMPARE(channel->receiveWindow(), limits.receiveWindow);
        // The 2 MiB window holds the sender to 40 MiB/s at this round trip, which the sink
        // outruns: the window grows, within the session's budget.
        QTRY_VERIFY_WITH_TIMEOUT(
            !receivingChannel(fixture) || channel->receiveWindow() > limits.receiveWindow, 60000);
        QVERIFY(receivingChannel(fixture));
        QVERIFY(channel->receiveWindow() <= limits.maxReceiveWindow);
        QVERIFY(fixture.serverSession()->grownWindowBytes() > 0);
        QVERIFY(fixture.serverSession()->grownWindowBytes() <= limits.sessionWindowBudget);
        QVERIFY(fixture.serverSession()->roundTripUs() >= 2 * kOneWayDelayMs * 1000);
        // What grew the window is given back when the connection ends.
        pump.socket().abort();
        QTRY_COMPARE(fixture.serverSession()->channels().size(), qsizetype(0));
        QCOMPARE(fixture.serverSession()->grownWindowBytes(), qint64(0));
    }

    void slowReaderKeepsTheInitialWindow()
    {
        const SessionLimits limits;
        // 64 KiB per 10 ms: 6.4 MiB/s, 0.3 MiB per round trip.
        Sink sink(64 * 1024);
        TunnelFixture fixture(limits);
        std::unique_ptr<DelayRelay> relay;
        QVERIFY(fixture.start([&](quint16 serverPort) {
            relay = std::make_unique<DelayRelay>(serverPort, kOneWayDelayMs);
            return relay->port();
        }));
        const quint16 port = fixture.forwardTo(sink.port());
        StreamPump pump(port, 64 * kMiB, 8);
        QTRY_VERIFY(receivingChannel(fixture));
        Channel *channel = receivingChannel(fixture);
        quint32 largest = 0;
        quint64 mostBuffered = 0;
        QTimer watch;
        connect(&watch, &QTimer::timeout, this, [&] {
            largest = qMax(largest, channel->receiveWindow());
            mostBuffered = qMax(mostBuffered, channel->buffered());
        });
        watch.start(5);
        // Until the reader has taken 12 MiB: more than the kernel's buffers and the window hold.
        QTRY_VERIFY_WITH_TIMEOUT(sink.received() >= 12 * kMiB, 60000);
        QVERIFY(fixture.serverSession()->roundTripUs() > 0);
        // The bytes piled up in front of the reader, and the window stayed as it was.
        QVERIFY(mostBuffered > 0);
        QCOMPARE(largest, limits.receiveWindow);
        QCOMPARE(channel->receiveWindow(), limits.receiveWindow);
        QCOMPARE(fixture.serverSession()->grownWindowBytes(), qint64(0));
    }
};

QTEST_MAIN(WindowTuningTest)
#include "tst_windowtuning.moc"
