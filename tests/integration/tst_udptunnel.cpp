// UDP mappings end to end in one process: a TunnelServer and a TunnelClient over a real WebSocket
// on loopback, real UDP sockets on both sides of the tunnel.
#include "EchoServer.h"
#include "Exchange.h"
#include "StreamPump.h"
#include "TunnelFixture.h"
#include "UdpEchoServer.h"
#include "UdpFlood.h"

#include "forward/DatagramListener.h"
#include "forward/ReverseForward.h"
#include "session/TunnelSession.h"

#include <QElapsedTimer>
#include <QFile>
#include <QNetworkDatagram>
#include <QSignalSpy>
#include <QTest>
#include <QUdpSocket>

#include <memory>
#include <vector>

using namespace wstunnel;

namespace {

constexpr qint64 kMiB = 1024 * 1024;

QByteArray payload(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 253);
    return bytes;
}

qint64 residentBytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return 0;
}

} // namespace

class UdpTunnelTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void echoKeepsDatagramBoundaries()
    {
        UdpEchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(echo.port());
        QVERIFY(listener);
        QCOMPARE(listener->target(), QStringLiteral("127.0.0.1:%1/udp").arg(echo.port()));
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        for (const int size : {1, 512, 1472, 9000, 65507}) {
            const QByteArray datagram = payload(size, char(size));
            QCOMPARE(exchange(client, QHostAddress::LocalHost, listener->serverPort(), datagram),
                     datagram);
        }
        // A burst keeps each datagram whole and apart.
        for (int i = 1; i <= 20; ++i)
            client.writeDatagram(payload(i * 100, char(i)), QHostAddress::LocalHost,
                                 listener->serverPort());
        QList<QByteArray> replies;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                while (client.hasPendingDatagrams())
                    replies.append(client.receiveDatagram().data());
                return replies.size() == 20;
            }(),
            10000);
        for (int i = 1; i <= 20; ++i)
            QVERIFY2(replies.contains(payload(i * 100, char(i))), qPrintable(QString::number(i)));
        QCOMPARE(listener->flowCount(), 1);
        QCOMPARE(listener->datagramsDropped(), quint64(0));
    }

    // A datagram sent to a UDP mapping while the remote is away and the client waits out its
    // backoff makes the client dial again at once, as a TCP connection to a mapping does.
    void aDatagramWhileDisconnectedRedialsAtOnce()
    {
        UdpEchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(echo.port());
        QVERIFY(listener);
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        QCOMPARE(exchange(client, QHostAddress::LocalHost, listener->serverPort(), "before"),
                 QByteArray("before"));

        fixture.server().shutdown(QStringLiteral("restart"));
        // Refused attempts double the backoff: 0.5 s, 1 s, 2 s, then 4 s.
        QTRY_VERIFY_WITH_TIMEOUT(
            fixture.client().statusText().contains(QLatin1String("retrying in 4.0 s")), 15000);
        QString error;
        QVERIFY2(fixture.server().listen(&error), qPrintable(error));
        QElapsedTimer sinceDatagram;
        sinceDatagram.start();
        // Dropped, as there is no session to carry it, but the client redials for it.
        client.writeDatagram("wake up", QHostAddress::LocalHost, listener->serverPort());
        QTRY_COMPARE_WITH_TIMEOUT(fixture.client().state(), TunnelClient::State::Connected, 10000);
        QVERIFY2(
            sinceDatagram.elapsed() < 3000,
            qPrintable(
                QStringLiteral("connected %1 ms after the datagram").arg(sinceDatagram.elapsed())));
        QCOMPARE(exchange(client, QHostAddress::LocalHost, listener->serverPort(), "after"),
                 QByteArray("after"));
    }

    void fiveHundredFlowsEachGetTheirOwnReplies()
    {
        UdpEchoServer echo(QHostAddress(QHostAddress::LocalHost), "reply to ");
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(echo.port());
        QVERIFY(listener);
        constexpr int kFlows = 500;
        std::vector<std::unique_ptr<QUdpSocket>> clients;
        for (int i = 0; i < kFlows; ++i) {
            clients.push_back(std::make_unique<QUdpSocket>());
            QVERIFY(clients.back()->bind(QHostAddress::LocalHost, 0));
        }
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < kFlows; ++i)
                clients[i]->writeDatagram(QByteArray("flow %1 round %2")
                                              .replace("%1", QByteArray::number(i))
                                              .replace("%2", QByteArray::number(round)),
                                          QHostAddress::LocalHost, listener->serverPort());
            std::vector<QList<QByteArray>> received(kFlows);
            QTRY_VERIFY_WITH_TIMEOUT(
                [&] {
                    int complete = 0;
                    for (int i = 0; i < kFlows; ++i) {
                        while (clients[i]->hasPendingDatagrams())
                            received[i].append(clients[i]->receiveDatagram().data());
                        complete += received[i].isEmpty() ? 0 : 1;
                    }
                    return complete == kFlows;
                }(),
                30000);
            QTest::qWait(0);
            for (int i = 0; i < kFlows; ++i) {
                while (clients[i]->hasPendingDatagrams())
                    received[i].append(clients[i]->receiveDatagram().data());
                QCOMPARE(received[i],
                         QList<QByteArray>{QByteArray("reply to flow %1 round %2")
                                               .replace("%1", QByteArray::number(i))
                                               .replace("%2", QByteArray::number(round))});
            }
        }
        QCOMPARE(listener->flowCount(), kFlows);
        QCOMPARE(fixture.clientSession()->datagramChannels(), kFlows);
        QCOMPARE(fixture.serverSession()->datagramChannels(), kFlows);
        QCOMPARE(echo.datagramsReceived(), 2 * kFlows);
    }

    void disallowedUdpTargetIsRefusedWithAClearReason()
    {
        UdpEchoServer echo;
        // The same host and port for TCP only: a plain rule never admits UDP.
        TunnelFixture fixture(SessionLimits(), {QStringLiteral("127.0.0.1:%1").arg(echo.port())});
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(echo.port());
        QVERIFY(listener);
        QSignalSpy closed(listener, &DatagramListener::channelClosed);
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        client.writeDatagram("anyone there?", QHostAddress::LocalHost, listener->serverPort());
        QVERIFY(closed.wait());
        const QString error = closed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(
                     QStringLiteral("127.0.0.1:%1/udp is not in the allow-list").arg(echo.port())),
                 qPrintable(error));
        QCOMPARE(echo.datagramsReceived(), 0);
        QCOMPARE(listener->flowCount(), 0);
    }

    void ipv6ListenerAndTarget()
    {
        UdpEchoServer echo{QHostAddress(QHostAddress::LocalHostIPv6)};
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener =
            fixture.forwardDatagramsTo(echo.port(), QStringLiteral("::1"), QStringLiteral("::1"));
        QVERIFY(listener);
        QCOMPARE(listener->localEndpoint(), QStringLiteral("[::1]:%1").arg(listener->serverPort()));
        QCOMPARE(listener->target(), QStringLiteral("[::1]:%1/udp").arg(echo.port()));
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHostIPv6, 0));
        for (const int size : {1, 1452, 65507}) {
            const QByteArray datagram = payload(size, 'v');
            QCOMPARE(
                exchange(client, QHostAddress::LocalHostIPv6, listener->serverPort(), datagram),
                datagram);
        }
        QCOMPARE(listener->channels().first()->peer(),
                 QStringLiteral("[::1]:%1").arg(client.localPort()));
    }

    void reverseUdpForward()
    {
        UdpEchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = echo.port();
        spec.transport = ChannelTransport::Udp;
        ReverseForward *forward = fixture.client().addReverseForward(spec);
        QTRY_COMPARE(forward->state(), ReverseForward::State::Listening);
        QUdpSocket client;
        QVERIFY(client.bind(QHostAddress::LocalHost, 0));
        for (const int size : {1, 9000, 65507}) {
            const QByteArray datagram = payload(size, 'r');
            QCOMPARE(exchange(client, QHostAddress::LocalHost, forward->remotePort(), datagram),
                     datagram);
        }
        QCOMPARE(forward->openChannels(), 1);
        QVERIFY(forward->channels().first()->isDatagram());

        // Removing it closes the remote's port (and deletes the forward): nothing answers there
        // any more.
        const quint16 remotePort = forward->remotePort();
        fixture.client().removeReverseForward(forward);
        QTRY_VERIFY(fixture.serverSession()->datagramChannels() == 0);
        QUdpSocket late;
        QVERIFY(late.bind(QHostAddress::LocalHost, 0));
        late.writeDatagram("late", QHostAddress::LocalHost, remotePort);
        QVERIFY(!QTest::qWaitFor([&] { return late.hasPendingDatagrams(); }, 300));
    }

    void theLeastRecentlyUsedFlowOfAMappingIsEvicted()
    {
        UdpEchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(echo.port());
        QVERIFY(listener);
        listener->setMaxFlows(4);
        QSignalSpy closed(listener, &DatagramListener::channelClosed);
        std::vector<std::unique_ptr<QUdpSocket>> clients;
        for (int i = 0; i < 5; ++i) {
            clients.push_back(std::make_unique<QUdpSocket>());
            QVERIFY(clients.back()->bind(QHostAddress::LocalHost, 0));
        }
        auto ping = [&](int i) {
            return exchange(*clients[i], QHostAddress::LocalHost, listener->serverPort(),
                            QByteArray::number(i));
        };
        for (const int i : {0, 1, 2, 3, 0, 2, 3})
            QCOMPARE(ping(i), QByteArray::number(i));
        QCOMPARE(listener->flowCount(), 4);
        QCOMPARE(ping(4), QByteArray::number(4));
        QCOMPARE(listener->flowCount(), 4);
        QCOMPARE(listener->flowsEvicted(), quint64(1));
        QTRY_COMPARE(closed.size(), 1);
        const ChannelSummary evicted = closed.first().first().value<ChannelSummary>();
        QCOMPARE(evicted.peer, QStringLiteral("127.0.0.1:%1").arg(clients[1]->localPort()));
        QVERIFY2(evicted.error.contains(QStringLiteral("limit of 4 flows")),
                 qPrintable(evicted.error));
        QTRY_COMPARE(fixture.serverSession()->datagramChannels(), 4);
        // The evicted source simply starts a new flow.
        QCOMPARE(ping(1), QByteArray::number(1));
    }

    // A source flooding a target that never reads: what the tunnel cannot carry is dropped and
    // counted, memory stays bounded, and a TCP channel of the same session keeps moving.
    void floodIntoADeafTargetDoesNotStallTcp()
    {
        QUdpSocket deafTarget; // bound, never read
        QVERIFY(deafTarget.bind(QHostAddress::LocalHost, 0));
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        DatagramListener *listener = fixture.forwardDatagramsTo(deafTarget.localPort());
        QVERIFY(listener);
        const quint16 tcpPort = fixture.forwardTo(echo.serverPort());
        const qint64 rssBefore = residentBytes();

        // The flood lasts until the transfer is through, however long a slow build takes for
        // it; its own bound only stops it should the test fail.
        constexpr int kTransferTimeoutMs = 60000;
        UdpFlood flood(listener->serverPort(), 1400, kTransferTimeoutMs);
        QTRY_VERIFY(listener->flowCount() == 1);
        const qint64 size = 16 * kMiB;
        StreamPump pump(tcpPort, size, 77);
        QElapsedTimer elapsed;
        elapsed.start();
        qint64 maxBacklog = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                maxBacklog = qMax(maxBacklog, fixture.clientSession()->transportBacklog());
                return pump.bytesReceived() == size;
            }(),
            kTransferTimeoutMs);
        const bool floodStillRunning = !flood.done();
        flood.stop();
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(size, 77));
        Channel *flow = listener->channels().first();
        qInfo("flood: %d datagrams sent, %llu carried, %llu dropped by the tunnel; TCP moved 16 "
              "MiB in %lld ms%s; RSS grew by %lld KiB; highest link backlog %lld KiB",
              flood.sent(), flow->datagramsOut(), listener->datagramsDropped(), elapsed.elapsed(),
              floodStillRunning ? " while the flood went on" : "",
              (residentBytes() - rssBefore) / 1024, maxBacklog / 1024);
        QVERIFY(floodStillRunning);
        QVERIFY(flow->datagramsOut() > 0);
        QVERIFY(listener->datagramsDropped() > 0);
        QVERIFY(maxBacklog <= SessionLimits().writeWatermark + 2 * 512 * 1024);
        QVERIFY(residentBytes() - rssBefore < 64 * kMiB);
        QCOMPARE(fixture.clientSession()->channels().size(), qsizetype(2));
    }
};

QTEST_GUILESS_MAIN(UdpTunnelTest)
#include "tst_udptunnel.moc"
