// The flood check of UDP mappings with the real binaries: one sender floods a -L …/udp flow whose
// target never reads, as fast as it can, while a TCP channel of the same session moves 50 MiB.
// Both processes must stay under 64 MiB of peak resident memory, report what they dropped, and
// the TCP transfer must finish during the flood.

#include "EchoServer.h"
#include "Peer.h"
#include "StreamPump.h"

#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QTest>

#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr qint64 kMiB = 1024 * 1024;
constexpr qint64 kTcpBytes = 50 * kMiB;
constexpr qint64 kMemoryLimit = 64 * kMiB;
// The issue's flood lasts 10 s; it goes on until the TCP transfer is through, up to a bound.
constexpr int kFloodMinMs = 10000;
constexpr int kFloodMaxMs = 60000;
// The largest datagram that fits an Ethernet MTU, the common case for a flood.
constexpr int kDatagramSize = 1472;

const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));
const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:\d+/\S*)$)"));
// The line a flow's channel logs when it ends, with its datagram counts.
const QRegularExpression
    kFlowClosed(QStringLiteral(R"(/udp closed.*datagrams in (\d+) out (\d+), dropped in (\d+) )"
                               R"(out (\d+))"));

sockaddr_in loopback(quint16 port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// A UDP socket on loopback that nobody ever reads: its small receive buffer fills at once.
class DeafTarget
{
public:
    DeafTarget()
        : m_fd(::socket(AF_INET, SOCK_DGRAM, 0))
    {
        const int size = 4096;
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        sockaddr_in address = loopback(0);
        if (::bind(m_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
            return;
        socklen_t length = sizeof address;
        ::getsockname(m_fd, reinterpret_cast<sockaddr *>(&address), &length);
        m_port = ntohs(address.sin_port);
    }
    ~DeafTarget() { ::close(m_fd); }
    DeafTarget(const DeafTarget &) = delete;
    DeafTarget &operator=(const DeafTarget &) = delete;

    quint16 port() const { return m_port; }

private:
    int m_fd;
    quint16 m_port = 0;
};

// Sends datagrams to a loopback port from one socket on a thread of its own, as fast as one core
// does, until stopped.
class Flooder
{
public:
    explicit Flooder(quint16 port)
        : m_thread([this, port] { run(port); })
    {
    }
    ~Flooder() { stop(); }
    Flooder(const Flooder &) = delete;
    Flooder &operator=(const Flooder &) = delete;

    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    quint64 sent() const { return m_sent; }

private:
    void run(quint16 port)
    {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        const sockaddr_in address = loopback(port);
        const QByteArray datagram(kDatagramSize, 'f');
        while (!m_stop) {
            if (::sendto(fd, datagram.constData(), size_t(datagram.size()), 0,
                         reinterpret_cast<const sockaddr *>(&address), sizeof address) > 0)
                ++m_sent;
        }
        ::close(fd);
    }

    std::atomic<bool> m_stop{false};
    std::atomic<quint64> m_sent{0};
    std::thread m_thread;
};

// The peak resident memory of a process (VmHWM), in bytes; -1 if unknown.
qint64 peakResidentBytes(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    static const QRegularExpression hwm(QStringLiteral(R"(VmHWM:\s+(\d+) kB)"));
    const QRegularExpressionMatch match = hwm.match(QString::fromLatin1(status.readAll()));
    return match.hasMatch() ? match.captured(1).toLongLong() * 1024 : -1;
}

} // namespace

class UdpFloodTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void floodIntoDeafTargetStaysBoundedWhileTcpMoves()
    {
        DeafTarget deaf;
        QVERIFY(deaf.port() != 0);
        EchoServer echo;
        QVERIFY(echo.isListening());

        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                      QStringLiteral("--udp-timeout"), QStringLiteral("1")});
        const QRegularExpressionMatch listening = remote.waitForLine(kListening);
        QVERIFY2(listening.hasMatch(), remote.transcript().constData());

        const QString udpTarget = QStringLiteral("127.0.0.1:%1/udp").arg(deaf.port());
        const QString tcpTarget = QStringLiteral("127.0.0.1:%1").arg(echo.serverPort());
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                      listening.captured(1), QStringLiteral("-L"), QStringLiteral("0:") + udpTarget,
                      QStringLiteral("-L"), QStringLiteral("0:") + tcpTarget,
                      QStringLiteral("--udp-timeout"), QStringLiteral("1")});
        quint16 udpPort = 0;
        quint16 tcpPort = 0;
        for (int line = 0; line < 2; ++line) {
            const QRegularExpressionMatch ready =
                client.waitForLine(kForwarding, kStartTimeoutMs, line);
            QVERIFY2(ready.hasMatch(), client.transcript().constData());
            (ready.captured(2) == udpTarget ? udpPort : tcpPort) =
                quint16(ready.captured(1).toUInt());
        }
        QVERIFY(udpPort != 0 && tcpPort != 0);
        QVERIFY2(client.waitForStderr(QStringLiteral("connected to ")),
                 client.transcript().constData());

        QElapsedTimer flooding;
        flooding.start();
        Flooder flooder(udpPort);
        StreamPump pump(tcpPort, kTcpBytes, 0xf100d);
        qint64 transferredMs = -1;
        QVERIFY(QTest::qWaitFor(
            [&] {
                const bool transferred = pump.bytesReceived() >= kTcpBytes || pump.disconnected();
                if (transferred && transferredMs < 0)
                    transferredMs = flooding.elapsed();
                return (transferred && flooding.elapsed() >= kFloodMinMs) || !client.isRunning() ||
                       !remote.isRunning();
            },
            kFloodMaxMs));
        flooder.stop();
        const qint64 floodMs = flooding.elapsed();
        QVERIFY2(client.isRunning() && remote.isRunning(),
                 (client.transcript() + remote.transcript()).constData());

        // The TCP channel moved all of its bytes, intact, while the flood went on.
        QVERIFY(pump.sentAll());
        QCOMPARE(pump.bytesReceived(), kTcpBytes);
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(kTcpBytes, 0xf100d));

        const qint64 clientPeak = peakResidentBytes(client.processId());
        const qint64 remotePeak = peakResidentBytes(remote.processId());
        qInfo("flood: %llu datagrams of %d bytes in %lld ms, 50 MiB of TCP through after %lld ms; "
              "peak RSS: wstunnel %lld KiB, wstunnel-remote %lld KiB",
              static_cast<unsigned long long>(flooder.sent()), kDatagramSize, floodMs,
              transferredMs, clientPeak / 1024, remotePeak / 1024);
        QVERIFY(flooder.sent() > 0);
        QVERIFY(clientPeak > 0 && remotePeak > 0);
        QVERIFY2(clientPeak < kMemoryLimit, qPrintable(QString::number(clientPeak)));
        QVERIFY2(remotePeak < kMemoryLimit, qPrintable(QString::number(remotePeak)));

        // The idle flow ends and says what it carried and dropped: the desktop could not carry
        // everything the sender offered, and counts what it dropped.
        QVERIFY2(client.waitForStderr(QStringLiteral("/udp closed")),
                 client.transcript().constData());
        const QRegularExpressionMatch closed = kFlowClosed.match(client.stderrText());
        QVERIFY2(closed.hasMatch(), client.transcript().constData());
        const quint64 carried = closed.captured(2).toULongLong();
        const quint64 dropped = closed.captured(4).toULongLong();
        qInfo("desktop: %llu datagrams carried, %llu dropped",
              static_cast<unsigned long long>(carried), static_cast<unsigned long long>(dropped));
        QVERIFY(carried > 0);
        QVERIFY(dropped > 0);
        QVERIFY(carried + dropped <= flooder.sent());
    }
};

QTEST_GUILESS_MAIN(UdpFloodTest)
#include "tst_udpflood.moc"
