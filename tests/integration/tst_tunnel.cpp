#include "EchoServer.h"
#include "Exchange.h"
#include "StreamPump.h"
#include "TunnelFixture.h"

#include "channel/Channel.h"
#include "forward/ForwardListener.h"
#include "forward/ReverseForward.h"
#include "net/StreamSocket.h"
#include "protocol/MessageCodec.h"
#include "session/TunnelSession.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>
#include <QWebSocket>

#include <arpa/inet.h>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wstunnel;

namespace {

constexpr qint64 kMiB = 1024 * 1024;

// Reads until the peer half-closes, then answers with how much it got and closes its side:
// the reply only arrives if the tunnel kept the other direction open after the FIN.
class HalfCloseServer : public QTcpServer
{
public:
    HalfCloseServer() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new StreamSocket(this);
        socket->adopt(descriptor);
        auto received = std::make_shared<qint64>(0);
        connect(socket, &StreamSocket::readyRead, socket, [socket, received] {
            char buffer[65536];
            for (;;) {
                const qint64 n = socket->read(buffer, sizeof buffer);
                if (n > 0) {
                    *received += n;
                    continue;
                }
                if (n == 0) {
                    socket->write(QByteArray("received ") + QByteArray::number(*received));
                    socket->shutdownWrite();
                }
                return;
            }
        });
    }
};

// Accepts connections and never reads from them: a stalled consumer.
class SinkServer : public QTcpServer
{
public:
    SinkServer() { listen(QHostAddress::LocalHost, 0); }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new StreamSocket(this);
        socket->adopt(descriptor);
        socket->setReadEnabled(false);
    }
};

// A port whose connects never complete: its accept queue holds one connection nobody accepts,
// so the kernel drops every further SYN. A channel to it stays opening.
class BlackHole
{
public:
    BlackHole()
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
        ::bind(m_listener, reinterpret_cast<sockaddr *>(&address), length);
        ::listen(m_listener, 0);
        ::getsockname(m_listener, reinterpret_cast<sockaddr *>(&address), &length);
        m_port = ntohs(address.sin_port);
        m_filler = ::socket(AF_INET, SOCK_STREAM, 0);
        ::connect(m_filler, reinterpret_cast<sockaddr *>(&address), length);
    }
    ~BlackHole()
    {
        ::close(m_filler);
        ::close(m_listener);
    }
    quint16 port() const { return m_port; }

private:
    int m_listener = -1;
    int m_filler = -1;
    quint16 m_port = 0;
};

quint16 unusedPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

// A WebSocket with a valid token that then speaks whatever the test sends.
void openWithToken(QWebSocket &socket, TunnelFixture &fixture)
{
    QNetworkRequest request(QUrl(fixture.server().url()));
    request.setRawHeader("Authorization", QByteArray("Bearer ") + TunnelFixture::kToken);
    socket.open(request);
}

// A raw session peer: a WebSocket with a valid token that sends hand-made messages and decodes
// what arrives.
class RawPeer
{
public:
    RawPeer(TunnelFixture &fixture, quint16 maxVersion)
    {
        QObject::connect(&m_socket, &QWebSocket::binaryMessageReceived, &m_socket,
                         [this](const QByteArray &bytes) {
                             const auto decoded = MessageCodec::decode(bytes, 2 * 1024 * 1024);
                             if (decoded.message)
                                 m_received.append({decoded.message->type, decoded.message->channel,
                                                    decoded.message->payload.toByteArray()});
                         });
        openWithToken(m_socket, fixture);
        m_connected = QTest::qWaitFor(
            [this] { return m_socket.state() == QAbstractSocket::ConnectedState; }, 10000);
        send(MessageCodec::hello(1, maxVersion, 2 * 1024 * 1024, QStringLiteral("raw")));
    }

    struct Received
    {
        MessageType type;
        quint32 channel;
        QByteArray payload;
    };

    bool connected() const { return m_connected; }
    void send(const QByteArray &message) { m_socket.sendBinaryMessage(message); }
    QWebSocket &socket() { return m_socket; }
    const QList<Received> &received() const { return m_received; }

private:
    QWebSocket m_socket;
    QList<Received> m_received;
    bool m_connected = false;
};

} // namespace

class TunnelTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void echo()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        QCOMPARE(exchange(port, "hello through the tunnel"),
                 QByteArray("hello through the tunnel"));
        QCOMPARE(fixture.serverSession()->peerName(), QStringLiteral("wstunnel"));
        QCOMPARE(fixture.clientSession()->peerName(), QStringLiteral("wstunnel-remote"));
    }

    void hundredMebibytesBothWaysAtOnce()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        const qint64 size = 100 * kMiB;
        StreamPump pump(port, size, 42);
        QTRY_VERIFY_WITH_TIMEOUT(pump.bytesReceived() == size, 120000);
        QVERIFY(pump.sentAll());
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(size, 42));
    }

    void twoHundredConcurrentConnections()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        const qint64 size = 64 * 1024 + 17;
        std::vector<std::unique_ptr<StreamPump>> pumps;
        for (quint32 i = 0; i < 200; ++i)
            pumps.push_back(std::make_unique<StreamPump>(port, size, 1000 + i));
        QTRY_VERIFY_WITH_TIMEOUT(
            std::all_of(pumps.begin(), pumps.end(),
                        [&](const auto &p) { return p->bytesReceived() == size; }),
            60000);
        for (quint32 i = 0; i < 200; ++i)
            QCOMPARE(pumps[i]->receivedDigest(), StreamPump::expectedDigest(size, 1000 + i));
        QCOMPARE(echo.connectionsAccepted(), 200);
    }

    void twoHundredSequentialConnections()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        for (int i = 0; i < 200; ++i) {
            const QByteArray message = "cycle " + QByteArray::number(i);
            QCOMPARE(exchange(port, message), message);
        }
        // Every channel was released on both sides once its connection closed.
        QTRY_COMPARE(fixture.clientSession()->channels().size(), qsizetype(0));
        QTRY_COMPARE(fixture.serverSession()->channels().size(), qsizetype(0));
    }

    void halfCloseKeepsTheOtherDirectionOpen()
    {
        HalfCloseServer server;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(server.serverPort());
        StreamPump pump(port, kMiB, 7);
        pump.setShutdownWhenSent(true);
        QTRY_VERIFY_WITH_TIMEOUT(pump.disconnected(), 20000);
        QCOMPARE(pump.bytesReceived(), qint64(QByteArray("received 1048576").size()));
        QCOMPARE(pump.receivedDigest(),
                 QCryptographicHash::hash("received 1048576", QCryptographicHash::Sha256));
    }

    void stalledChannelDoesNotStallOthers()
    {
        SinkServer sink;
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 stalledPort = fixture.forwardTo(sink.serverPort());
        const quint16 echoPort = fixture.forwardTo(echo.serverPort());

        quint64 peak = 0;
        auto sample = [&] {
            quint64 held = 0;
            for (TunnelSession *session : {fixture.clientSession(), fixture.serverSession()}) {
                if (session)
                    held += session->bufferedBytes() + quint64(session->transportBacklog());
            }
            peak = qMax(peak, held);
        };
        QTimer sampler;
        connect(&sampler, &QTimer::timeout, this, sample);
        sampler.start(2);

        StreamPump stalled(stalledPort, 256 * kMiB, 1);
        // Wait until the stalled channel has used up its credit and everything stopped moving.
        QTRY_VERIFY_WITH_TIMEOUT(stalled.bytesSent() > 4 * kMiB, 20000);
        const qint64 size = 20 * kMiB;
        StreamPump mover(echoPort, size, 2);
        QTRY_VERIFY_WITH_TIMEOUT(mover.bytesReceived() == size, 60000);
        QCOMPARE(mover.receivedDigest(), StreamPump::expectedDigest(size, 2));
        sample();

        // The stalled stream is still waiting: nowhere near 256 MiB got through.
        QVERIFY(!stalled.sentAll());
        QVERIFY(stalled.bytesSent() < 64 * kMiB);
        mover.socket().close();
        QTRY_COMPARE(fixture.clientSession()->channels().size(), qsizetype(1));
        // Both ends together hold at most a window, a WebSocket watermark and a chunk each.
        const SessionLimits limits;
        const quint64 bound = 2 * (limits.receiveWindow + quint64(limits.writeWatermark) +
                                   quint64(limits.chunkSize) + 64 * 1024);
        qInfo("peak bytes held by the tunnel: %llu (bound %llu)", peak, bound);
        QVERIFY2(peak <= bound,
                 qPrintable(QStringLiteral("peak %1 > bound %2").arg(peak).arg(bound)));
    }

    void firstBytesTravelWithTheOpen()
    {
        BlackHole hole;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(hole.port());
        QTcpSocket local;
        local.connectToHost(QHostAddress::LocalHost, port);
        QTRY_COMPARE(local.state(), QAbstractSocket::ConnectedState);
        local.write("first bytes");
        // The remote holds them while its connect to the target is still under way.
        QTRY_VERIFY([&] {
            const auto channels = fixture.serverSession()->channels();
            return channels.size() == 1 && channels.first()->state() == Channel::State::Opening &&
                   channels.first()->buffered() == 11;
        }());
        QCOMPARE(fixture.serverSession()->channels().first()->bytesIn(), quint64(0));
    }

    void earlyDataIsWrittenOnceTheTargetAnswers()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        RawPeer peer(fixture, protocol::kEarlyDataVersion);
        QVERIFY(peer.connected());
        peer.send(MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("127.0.0.1"),
                                     echo.serverPort()));
        peer.send(MessageCodec::data(1, 0, "sent before open-ok"));
        QTRY_VERIFY(peer.received().size() >= 3);
        QCOMPARE(peer.received().at(0).type, MessageType::Hello);
        QCOMPARE(peer.received().at(1).type, MessageType::OpenOk);
        QCOMPARE(peer.received().at(2).type, MessageType::Data);
        QCOMPARE(peer.received().at(2).payload, QByteArray("sent before open-ok"));
    }

    void earlyDataBeyondTheEarlyWindowEndsOnlyThatSession()
    {
        BlackHole hole;
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        RawPeer peer(fixture, protocol::kEarlyDataVersion);
        QVERIFY(peer.connected());
        peer.send(MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("127.0.0.1"),
                                     hole.port()));
        peer.send(MessageCodec::data(1, 0, QByteArray(protocol::kEarlyWindow, 'a')));
        peer.send(MessageCodec::data(1, protocol::kEarlyWindow, "b"));
        QTRY_COMPARE_WITH_TIMEOUT(peer.socket().state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(peer.socket().closeCode(), QWebSocketProtocol::CloseCodeProtocolError);
        QVERIFY2(peer.socket().closeReason().contains(QStringLiteral("before open-ok")),
                 qPrintable(peer.socket().closeReason()));
        QCOMPARE(exchange(port, "still working"), QByteArray("still working"));
    }

    void versionOneSessionRefusesDataBeforeOpenOk()
    {
        BlackHole hole;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        RawPeer peer(fixture, 1);
        QVERIFY(peer.connected());
        peer.send(MessageCodec::open(1, ChannelTransport::Tcp, 65536, QStringLiteral("127.0.0.1"),
                                     hole.port()));
        peer.send(MessageCodec::data(1, 0, "too early for version 1"));
        QTRY_COMPARE_WITH_TIMEOUT(peer.socket().state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(peer.socket().closeCode(), QWebSocketProtocol::CloseCodeProtocolError);
        QVERIFY2(peer.socket().closeReason().contains(QStringLiteral("before it was open")),
                 qPrintable(peer.socket().closeReason()));
    }

    void refusedTargetClosesTheLocalConnectionAndSaysWhy()
    {
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(unusedPort());
        QSignalSpy clientClosed(fixture.clientSession(), &TunnelSession::channelClosed);
        QSignalSpy serverClosed(fixture.serverSession(), &TunnelSession::channelClosed);
        QTcpSocket socket;
        QElapsedTimer timer;
        timer.start();
        socket.connectToHost(QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
        qInfo("local connection closed %lld ms after connecting", timer.elapsed());
        QTRY_COMPARE(clientClosed.size(), 1);
        QTRY_COMPARE(serverClosed.size(), 1);
        const auto clientSide = clientClosed.first().first().value<ChannelSummary>();
        const auto serverSide = serverClosed.first().first().value<ChannelSummary>();
        QVERIFY2(clientSide.error.contains(QStringLiteral("connection refused")),
                 qPrintable(clientSide.error));
        QVERIFY2(serverSide.error.contains(QStringLiteral("connection refused")),
                 qPrintable(serverSide.error));
    }

    void unreachableTargetIsReported()
    {
        // The kernel refuses TCP to the broadcast address at once, without sending anything.
        TunnelFixture fixture({}, {QStringLiteral("255.255.255.255:*")});
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(9, QStringLiteral("255.255.255.255"));
        QSignalSpy closed(fixture.clientSession(), &TunnelSession::channelClosed);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
        QTRY_COMPARE(closed.size(), 1);
        const QString error = closed.first().first().value<ChannelSummary>().error;
        QVERIFY2(error.contains(QStringLiteral("unreachable")), qPrintable(error));
    }

    void disallowedTargetIsRefused()
    {
        EchoServer echo;
        TunnelFixture fixture({}, {QStringLiteral("127.0.0.1:1")});
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        QSignalSpy closed(fixture.clientSession(), &TunnelSession::channelClosed);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
        QTRY_COMPARE(closed.size(), 1);
        const QString error = closed.first().first().value<ChannelSummary>().error;
        QCOMPARE(error,
                 QStringLiteral("127.0.0.1:%1 is not in the allow-list").arg(echo.serverPort()));
        QCOMPARE(echo.connectionsAccepted(), 0);
    }

    void wrongOrMissingTokenIsFinal_data()
    {
        QTest::addColumn<QByteArray>("token");
        QTest::newRow("wrong") << QByteArray("not-the-token");
        QTest::newRow("missing") << QByteArray();
    }

    void wrongOrMissingTokenIsFinal()
    {
        QFETCH(QByteArray, token);
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ClientSettings settings;
        settings.url = QUrl(fixture.server().url());
        settings.token = token;
        TunnelClient client(settings);
        QSignalSpy states(&client, &TunnelClient::stateChanged);
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), TunnelClient::State::Failed, 10000);
        QVERIFY2(client.statusText().contains(QStringLiteral("refused the token (HTTP 401)")),
                 qPrintable(client.statusText()));
        // No session ever existed for it, and it never scheduled a retry.
        QCOMPARE(fixture.server().sessions().size(), qsizetype(1));
        for (const QList<QVariant> &change : std::as_const(states))
            QVERIFY(change.first().value<TunnelClient::State>() != TunnelClient::State::Retrying);
    }

    void garbageAfterUpgradeEndsOnlyThatSession()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());

        QWebSocket rogue;
        openWithToken(rogue, fixture);
        QTRY_COMPARE(rogue.state(), QAbstractSocket::ConnectedState);
        QTRY_COMPARE(fixture.server().sessions().size(), qsizetype(2));
        rogue.sendBinaryMessage(QByteArray("\xff\x00garbage", 9));
        QTRY_COMPARE_WITH_TIMEOUT(rogue.state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(rogue.closeCode(), QWebSocketProtocol::CloseCodeProtocolError);
        QVERIFY2(rogue.closeReason().contains(QStringLiteral("malformed message")),
                 qPrintable(rogue.closeReason()));
        QTRY_COMPARE(fixture.server().sessions().size(), qsizetype(1));
        QCOMPARE(exchange(port, "still working"), QByteArray("still working"));
    }

    void oversizedMessageEndsOnlyThatSession()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        QWebSocket rogue;
        openWithToken(rogue, fixture);
        QTRY_COMPARE(rogue.state(), QAbstractSocket::ConnectedState);
        rogue.sendBinaryMessage(QByteArray(8 * kMiB, 'x'));
        QTRY_COMPARE_WITH_TIMEOUT(rogue.state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(rogue.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
        QTRY_COMPARE(fixture.server().sessions().size(), qsizetype(1));
        QCOMPARE(exchange(port, "still working"), QByteArray("still working"));
    }

    void plainHttpGetsAClearAnswer()
    {
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, fixture.server().serverPort());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        QTRY_VERIFY(socket.state() == QAbstractSocket::UnconnectedState ||
                    socket.bytesAvailable() > 0);
        QTRY_VERIFY(socket.peek(256).contains("\r\n\r\n"));
        const QByteArray answer = socket.readAll();
        QVERIFY2(answer.startsWith("HTTP/1.1 426 Upgrade Required"), answer.constData());
        QVERIFY(answer.contains("this is a WSTunnel endpoint"));
    }

    void reverseForwardReachesTheDesktop()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.bindPort = 0;
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = echo.serverPort();
        QSignalSpy ready(&fixture.client(), &TunnelClient::reverseForwardReady);
        fixture.client().addReverseForward(spec);
        QVERIFY(ready.wait(5000));
        const quint16 remotePort = ready.first().at(1).value<quint16>();
        QVERIFY(remotePort != 0);
        QCOMPARE(exchange(remotePort, "from the dev server"), QByteArray("from the dev server"));
    }

    void removedReverseForwardStopsTheRemoteListener()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = echo.serverPort();
        QSignalSpy ready(&fixture.client(), &TunnelClient::reverseForwardReady);
        fixture.client().addReverseForward(spec);
        QVERIFY(ready.wait(5000));
        const quint16 remotePort = ready.first().at(1).value<quint16>();
        QTcpSocket open;
        open.connectToHost(QHostAddress::LocalHost, remotePort);
        open.write("held open");
        QTRY_COMPARE(open.peek(64), QByteArray("held open"));

        fixture.client().removeReverseForward(spec);
        // The connection it carried is reset and the port no longer accepts.
        QTRY_COMPARE(open.state(), QAbstractSocket::UnconnectedState);
        QTRY_VERIFY([&] {
            QTcpServer probe;
            return probe.listen(QHostAddress::LocalHost, remotePort);
        }());
        // The session itself carries on, and the forward can come back.
        fixture.client().addReverseForward(spec);
        QVERIFY(ready.wait(5000));
        const quint16 again = ready.last().at(1).value<quint16>();
        QCOMPARE(exchange(again, "back again"), QByteArray("back again"));
    }

    void reverseForwardOutsideLoopbackIsRefused()
    {
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.bindHost = QStringLiteral("0.0.0.0");
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = 1;
        QSignalSpy failed(&fixture.client(), &TunnelClient::reverseForwardFailed);
        fixture.client().addReverseForward(spec);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("loopback")));
    }

    void ipv6ListenerAndTarget()
    {
        EchoServer echo;
        echo.close();
        if (!echo.listen(QHostAddress::LocalHostIPv6, 0))
            QSKIP("this machine has no IPv6 loopback");
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.bindHost = QStringLiteral("::1");
        spec.targetHost = QStringLiteral("::1");
        spec.targetPort = echo.serverPort();
        TunnelError error;
        ForwardListener *listener = fixture.client().addLocalForward(spec, &error);
        QVERIFY2(listener, qPrintable(error.toString()));
        QCOMPARE(listener->localEndpoint(), QStringLiteral("[::1]:%1").arg(listener->serverPort()));

        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHostIPv6, listener->serverPort());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("over IPv6 both ways");
        QTRY_COMPARE(socket.bytesAvailable(), qint64(19));
        QCOMPARE(socket.readAll(), QByteArray("over IPv6 both ways"));
        // Addresses in logs and in the connections view carry brackets, so the port stands out.
        QCOMPARE(listener->channels().size(), 1);
        const ChannelSummary summary = listener->channels().first()->summary();
        QCOMPARE(summary.target, QStringLiteral("[::1]:%1").arg(echo.serverPort()));
        QCOMPARE(summary.peer, QStringLiteral("[::1]:%1").arg(socket.localPort()));
        QCOMPARE(exchange(listener->serverPort(), "again", 10000,
                          QHostAddress(QHostAddress::LocalHostIPv6)),
                 QByteArray("again"));
    }

    void reverseForwardCountsOnlyItsOwnChannels()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = echo.serverPort();
        ReverseForward *forward = fixture.client().addReverseForward(spec);
        ReverseForward *other = fixture.client().addReverseForward(spec);
        QCOMPARE(forward->state(), ReverseForward::State::Pending);
        QVERIFY(forward->remoteEndpoint().isEmpty());
        QSignalSpy ready(forward, &ReverseForward::ready);
        QSignalSpy otherReady(other, &ReverseForward::ready);
        QVERIFY(ready.wait(5000));
        QTRY_COMPARE(otherReady.size(), 1);
        QCOMPARE(forward->state(), ReverseForward::State::Listening);
        const quint16 remotePort = forward->remotePort();
        QCOMPARE(ready.first().at(0).value<quint16>(), remotePort);
        QCOMPARE(forward->remoteEndpoint(), QStringLiteral("127.0.0.1:%1").arg(remotePort));
        QVERIFY(other->remotePort() != remotePort);
        QVERIFY(forward->channels().isEmpty());

        QTcpSocket open;
        open.connectToHost(QHostAddress::LocalHost, remotePort);
        open.write("held open");
        QTRY_COMPARE(open.peek(64), QByteArray("held open"));
        QCOMPARE(forward->channels().size(), qsizetype(1));
        QCOMPARE(forward->openChannels(), 1);
        QVERIFY(other->channels().isEmpty());
        const Channel *channel = forward->channels().first();
        QCOMPARE(channel->bytesIn(), quint64(9));
        QTRY_COMPARE(channel->bytesOut(), quint64(9));
        QCOMPARE(forward->bytesIn(), quint64(9));
        QCOMPARE(forward->bytesOut(), quint64(9));
        QCOMPARE(other->bytesIn(), quint64(0));

        // Closing from this side resets the connection on the remote; the bytes still count.
        forward->closeChannels(QStringLiteral("closed by the test"));
        QTRY_COMPARE(open.state(), QAbstractSocket::UnconnectedState);
        QVERIFY(forward->channels().isEmpty());
        QCOMPARE(forward->bytesIn(), quint64(9));
        QCOMPARE(forward->bytesOut(), quint64(9));
        QCOMPARE(exchange(remotePort, "next one"), QByteArray("next one"));
        QTRY_COMPARE(forward->bytesIn(), quint64(17));
        QCOMPARE(fixture.client().reverseForwards(), QList<ReverseForward *>({forward, other}));

        // Removing one leaves the other listening.
        fixture.client().removeReverseForward(forward);
        QCOMPARE(fixture.client().reverseForwards(), QList<ReverseForward *>({other}));
        QTRY_VERIFY([&] {
            QTcpServer probe;
            return probe.listen(QHostAddress::LocalHost, remotePort);
        }());
        QCOMPARE(exchange(other->remotePort(), "other"), QByteArray("other"));
        QCOMPARE(other->bytesIn(), quint64(5));
    }

    void reverseForwardOnBusyRemotePortFails()
    {
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.bindPort = occupant.serverPort();
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = 1;
        ReverseForward *forward = fixture.client().addReverseForward(spec);
        QSignalSpy failed(forward, &ReverseForward::failed);
        QSignalSpy clientFailed(&fixture.client(), &TunnelClient::reverseForwardFailed);
        QVERIFY(failed.wait(5000));
        QCOMPARE(forward->state(), ReverseForward::State::Failed);
        QVERIFY2(forward->error().startsWith(
                     QStringLiteral("cannot listen on 127.0.0.1:%1: ").arg(occupant.serverPort())),
                 qPrintable(forward->error()));
        QCOMPARE(failed.first().at(0).toString(), forward->error());
        QCOMPARE(clientFailed.size(), 1);
        QCOMPARE(clientFailed.first().at(1).toString(), forward->error());
        QCOMPARE(fixture.client().state(), TunnelClient::State::Connected);
        fixture.client().removeReverseForward(forward);
        QVERIFY(fixture.client().reverseForwards().isEmpty());
    }

    void reverseForwardListensAgainAfterReconnect()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.direction = ForwardSpec::Direction::Reverse;
        spec.bindPort = unusedPort();
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = echo.serverPort();
        ReverseForward *forward = fixture.client().addReverseForward(spec);
        QSignalSpy ready(forward, &ReverseForward::ready);
        QVERIFY(ready.wait(5000));
        QCOMPARE(forward->remotePort(), spec.bindPort);
        QCOMPARE(exchange(spec.bindPort, "before"), QByteArray("before"));

        fixture.server().shutdown(QStringLiteral("restart"));
        QTRY_VERIFY(fixture.client().state() != TunnelClient::State::Connected);
        QCOMPARE(forward->state(), ReverseForward::State::Pending);
        QCOMPARE(forward->remotePort(), quint16(0));
        QTRY_VERIFY([&] {
            QTcpServer probe;
            return probe.listen(QHostAddress::LocalHost, spec.bindPort);
        }());
        QString error;
        QVERIFY2(fixture.server().listen(&error), qPrintable(error));
        QVERIFY(ready.wait(20000));
        QCOMPARE(forward->state(), ReverseForward::State::Listening);
        QCOMPARE(forward->remotePort(), spec.bindPort);
        QCOMPARE(exchange(spec.bindPort, "after"), QByteArray("after"));
        QTRY_COMPARE(forward->bytesIn(), quint64(11));
    }

    void stoppedClientStaysStopped()
    {
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        QSignalSpy states(&fixture.client(), &TunnelClient::stateChanged);
        fixture.client().stop();
        QCOMPARE(fixture.client().state(), TunnelClient::State::Stopped);
        QTRY_COMPARE(fixture.server().sessions().size(), qsizetype(0));
        // Ending the session it had must not bring the client back.
        QSignalSpy reconnect(&fixture.client(), &TunnelClient::sessionReady);
        QVERIFY(!reconnect.wait(2000));
        QCOMPARE(fixture.client().state(), TunnelClient::State::Stopped);
        for (const QList<QVariant> &change : std::as_const(states))
            QVERIFY(change.first().value<TunnelClient::State>() != TunnelClient::State::Retrying);
    }

    void busyPortNamesTheAddress()
    {
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        ForwardSpec spec;
        spec.bindPort = occupant.serverPort();
        spec.targetHost = QStringLiteral("127.0.0.1");
        spec.targetPort = 1;
        TunnelError error;
        QVERIFY(!fixture.client().addLocalForward(spec, &error));
        QVERIFY2(error.toString().startsWith(
                     QStringLiteral("cannot listen on 127.0.0.1:%1: ").arg(occupant.serverPort())),
                 qPrintable(error.toString()));
    }

    void clientReconnectsAndKeepsItsPort()
    {
        EchoServer echo;
        TunnelFixture fixture;
        QVERIFY(fixture.start());
        const quint16 port = fixture.forwardTo(echo.serverPort());
        QCOMPARE(exchange(port, "before"), QByteArray("before"));
        fixture.server().shutdown(QStringLiteral("restart"));
        QTRY_VERIFY(fixture.client().state() != TunnelClient::State::Connected);
        // A connection made while the remote is away waits for it instead of failing.
        QTcpSocket early;
        early.connectToHost(QHostAddress::LocalHost, port);
        QTRY_COMPARE(early.state(), QAbstractSocket::ConnectedState);
        early.write("made while disconnected");
        QString error;
        QVERIFY2(fixture.server().listen(&error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(fixture.client().state(), TunnelClient::State::Connected, 20000);
        QTRY_COMPARE(early.peek(64), QByteArray("made while disconnected"));
        QCOMPARE(exchange(port, "after"), QByteArray("after"));
    }
};

QTEST_GUILESS_MAIN(TunnelTest)
#include "tst_tunnel.moc"
