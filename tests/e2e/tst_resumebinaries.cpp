// Resumable sessions with the real binaries: a TCP relay of the test's own sits between
// wstunnel --headless and wstunnel-remote and cuts the WebSocket (both sides closed abruptly) in
// the middle of transfers, as a proxy or a roaming network would.
#include "EchoServer.h"
#include "Peer.h"
#include "StreamPump.h"

#include <QElapsedTimer>
#include <QFile>
#include <QList>
#include <QPointer>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>

namespace {

constexpr qint64 kMiB = 1024 * 1024;

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/\S*)$)"));
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));

const QRegularExpression
    kRegistered(QStringLiteral(R"(^registered with (\S+) as (\S+) \((\w+)\)$)"));
const QRegularExpression kServedBy(QStringLiteral(R"(^agent (\S+) is (now )?served by (\S+)$)"));

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(content) == content.size();
}

// Passes TCP connections on to a port, both ways, with bounded buffers; cut() aborts every
// connection on both sides at once.
class CuttableRelay : public QObject
{
public:
    explicit CuttableRelay(quint16 targetPort)
        : m_targetPort(targetPort)
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *accepted = m_server.nextPendingConnection())
                relay(accepted);
        });
    }

    quint16 port() const { return m_server.serverPort(); }

    // Cuts every connection after this long without a byte either way, as a proxy's idle
    // timeout (proxy_read_timeout) does.
    void setIdleTimeout(int ms)
    {
        m_idleTimeoutMs = ms;
        m_lastTraffic.start();
        m_idleCheck.setInterval(100);
        connect(&m_idleCheck, &QTimer::timeout, this, [this] {
            if (m_lastTraffic.elapsed() >= m_idleTimeoutMs) {
                ++m_idleCuts;
                cut();
                m_lastTraffic.start();
            }
        });
        m_idleCheck.start();
    }
    int idleCuts() const { return m_idleCuts; }

    void cut()
    {
        for (const QPointer<QTcpSocket> &socket : std::exchange(m_sockets, {})) {
            if (socket) {
                socket->disconnect(this);
                socket->abort();
                socket->deleteLater();
            }
        }
    }

private:
    static constexpr qint64 kBuffer = 1024 * 1024;

    void relay(QTcpSocket *accepted)
    {
        accepted->setParent(this);
        accepted->setReadBufferSize(kBuffer);
        auto *upstream = new QTcpSocket(this);
        upstream->setReadBufferSize(kBuffer);
        m_sockets << accepted << upstream;
        connect(upstream, &QTcpSocket::connected, this, [this, accepted, upstream] {
            join(accepted, upstream);
            join(upstream, accepted);
            pass(accepted, upstream);
        });
        // One side closing closes the other once what it sent has been passed on.
        connect(accepted, &QTcpSocket::disconnected, this, [this, accepted, upstream] {
            pass(accepted, upstream);
            upstream->disconnectFromHost();
        });
        connect(upstream, &QTcpSocket::disconnected, this, [this, accepted, upstream] {
            pass(upstream, accepted);
            accepted->disconnectFromHost();
        });
        upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
    }

    void join(QTcpSocket *from, QTcpSocket *to)
    {
        connect(from, &QTcpSocket::readyRead, this, [this, from, to] { pass(from, to); });
        connect(to, &QTcpSocket::bytesWritten, this, [this, from, to] { pass(from, to); });
    }

    void pass(QTcpSocket *from, QTcpSocket *to)
    {
        const bool closing = from->state() != QAbstractSocket::ConnectedState;
        while (from->bytesAvailable() > 0 && (closing || to->bytesToWrite() < kBuffer)) {
            to->write(from->read(256 * 1024));
            m_lastTraffic.start();
        }
    }

    QTcpServer m_server;
    quint16 m_targetPort;
    QList<QPointer<QTcpSocket>> m_sockets;
    QTimer m_idleCheck;
    QElapsedTimer m_lastTraffic;
    int m_idleTimeoutMs = 0;
    int m_idleCuts = 0;
};

// The target of the forward: every connection sends its own stream back and hashes what comes.
class PumpServer : public QTcpServer
{
public:
    PumpServer(qint64 bytesToSend, quint32 seed)
        : m_bytesToSend(bytesToSend)
        , m_seed(seed)
    {
        listen(QHostAddress::LocalHost, 0);
    }

    std::unique_ptr<StreamPump> pump; // of the latest connection
    int connections = 0;

protected:
    void incomingConnection(qintptr descriptor) override
    {
        pump = std::make_unique<StreamPump>(descriptor, m_bytesToSend, m_seed);
        ++connections;
    }

private:
    qint64 m_bytesToSend;
    quint32 m_seed;
};

} // namespace

class ResumeBinariesTest : public QObject
{
    Q_OBJECT

private:
    bool startRemote(Peer &remote, quint16 *port, const QString &listen)
    {
        remote.start({QStringLiteral("--listen"), listen});
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        if (!ready.hasMatch()) {
            qWarning("%s", remote.transcript().constData());
            return false;
        }
        *port = quint16(ready.captured(2).toUInt());
        return true;
    }

    bool startClient(Peer &client, quint16 relayPort, quint16 targetPort, quint16 *localPort,
                     const QStringList &extra = {})
    {
        client.start(QStringList{QStringLiteral("--headless"), QStringLiteral("--remote"),
                                 QStringLiteral("ws://127.0.0.1:%1/").arg(relayPort),
                                 QStringLiteral("-L"),
                                 QStringLiteral("0:127.0.0.1:%1").arg(targetPort)} +
                     extra);
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        if (!ready.hasMatch() || !client.waitForStderr(QStringLiteral("connected to "))) {
            qWarning("%s", client.transcript().constData());
            return false;
        }
        *localPort = quint16(ready.captured(1).toUInt());
        return true;
    }

private Q_SLOTS:
    // Five cuts during a gigabyte each way at once: both streams arrive whole, and neither local
    // connection ever sees a reset.
    void gigabyteEachWayAcrossFiveCuts()
    {
        constexpr qint64 kSize = 1024 * kMiB;
        constexpr int kCuts = 5;
        Peer remote(QStringLiteral("wstunnel-remote"));
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, &remotePort, QStringLiteral("127.0.0.1:0")));
        CuttableRelay relay(remotePort);
        PumpServer target(kSize, 2);
        Peer client(QStringLiteral("wstunnel"));
        quint16 localPort = 0;
        QVERIFY(startClient(client, relay.port(), target.serverPort(), &localPort));

        StreamPump local(localPort, kSize, 1);
        QTRY_VERIFY_WITH_TIMEOUT(target.pump, 10000);
        StreamPump &far = *target.pump;
        for (int cut = 1; cut <= kCuts; ++cut) {
            const qint64 mark = kSize * cut / (kCuts + 1);
            QTRY_VERIFY_WITH_TIMEOUT(far.bytesReceived() >= mark && local.bytesReceived() >= mark,
                                     60000);
            relay.cut();
            const bool resumed = QTest::qWaitFor(
                [&] {
                    return client.stderrText().count(QLatin1String("session resumed after")) >= cut;
                },
                20000);
            if (!resumed)
                qWarning("%s\n%s", client.transcript().constData(),
                         remote.transcript().constData());
            QVERIFY(resumed);
        }
        QTRY_VERIFY_WITH_TIMEOUT(far.bytesReceived() == kSize && local.bytesReceived() == kSize,
                                 120000);
        QVERIFY(!local.disconnected());
        QVERIFY(!far.disconnected());
        QCOMPARE(far.receivedDigest(), StreamPump::expectedDigest(kSize, 1));
        QCOMPARE(local.receivedDigest(), StreamPump::expectedDigest(kSize, 2));
        QVERIFY2(!client.stderrText().contains(QLatin1String("reset")),
                 client.transcript().constData());
        QVERIFY(remote.stderrText().count(QLatin1String("session resumed after")) >= kCuts);
    }

    // desktop -> relay -> hub <- relay <- agent: the desktop's hop is cut, then the agent's,
    // during a transfer each way. Each hop resumes on its own; the agent stays the active one.
    void bothHubHopsResumeDuringATransfer()
    {
        constexpr qint64 kSize = 128 * kMiB;
        const QByteArray desktopToken = "resume-hub-desktop-token-71e0";
        const QByteArray agentToken = "resume-hub-agent-token-c4a8";
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString desktopTokens = dir.filePath(QStringLiteral("desktops.tokens"));
        const QString agentTokens = dir.filePath(QStringLiteral("agents.tokens"));
        QVERIFY(writeFile(desktopTokens, desktopToken + "\n"));
        QVERIFY(writeFile(agentTokens, agentToken + " devbox\n"));

        Peer hub(QStringLiteral("wstunnel-remote"));
        hub.start({QStringLiteral("hub"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                   QStringLiteral("--token-file"), desktopTokens,
                   QStringLiteral("--agent-token-file"), agentTokens},
                  QByteArray());
        const QRegularExpressionMatch listening = hub.waitForLine(kListening);
        QVERIFY2(listening.hasMatch(), hub.transcript().constData());
        const quint16 hubPort = quint16(listening.captured(2).toUInt());
        CuttableRelay agentHop(hubPort);
        CuttableRelay desktopHop(hubPort);

        Peer agent(QStringLiteral("wstunnel-remote"));
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"),
                     QStringLiteral("ws://127.0.0.1:%1/").arg(agentHop.port()),
                     QStringLiteral("--name"), QStringLiteral("devbox")},
                    agentToken);
        const QRegularExpressionMatch registered = agent.waitForLine(kRegistered);
        QVERIFY2(registered.hasMatch() && registered.captured(3) == QLatin1String("active"),
                 agent.transcript().constData());

        PumpServer target(kSize, 2);
        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                       QStringLiteral("ws://127.0.0.1:%1/").arg(desktopHop.port()),
                       QStringLiteral("--agent"), QStringLiteral("devbox"), QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:%1").arg(target.serverPort())},
                      desktopToken);
        const QRegularExpressionMatch forwarding = desktop.waitForLine(kForwarding);
        QVERIFY2(forwarding.hasMatch() && desktop.waitForLine(kServedBy).hasMatch(),
                 desktop.transcript().constData());

        StreamPump local(quint16(forwarding.captured(1).toUInt()), kSize, 1);
        QTRY_VERIFY_WITH_TIMEOUT(target.pump, 10000);
        StreamPump &far = *target.pump;
        const auto cutAt = [&](qint64 mark, CuttableRelay &hop, Peer &dialer) {
            const bool reached = QTest::qWaitFor(
                [&] { return far.bytesReceived() >= mark && local.bytesReceived() >= mark; },
                60000);
            if (!reached)
                return false;
            hop.cut();
            const bool resumed =
                dialer.waitForStderr(QStringLiteral("session resumed after"), 20000);
            if (!resumed)
                qWarning("%s\n%s", dialer.transcript().constData(), hub.transcript().constData());
            return resumed;
        };
        QVERIFY(cutAt(kSize / 3, desktopHop, desktop));
        QVERIFY(cutAt(kSize * 2 / 3, agentHop, agent));
        QTRY_VERIFY_WITH_TIMEOUT(far.bytesReceived() == kSize && local.bytesReceived() == kSize,
                                 120000);
        QVERIFY(!local.disconnected());
        QVERIFY(!far.disconnected());
        QCOMPARE(far.receivedDigest(), StreamPump::expectedDigest(kSize, 1));
        QCOMPARE(local.receivedDigest(), StreamPump::expectedDigest(kSize, 2));
        QCOMPARE(target.connections, 1);
        for (Peer *peer : {&desktop, &agent, &hub})
            QVERIFY2(!peer->stderrText().contains(QLatin1String("reset")),
                     peer->transcript().constData());
        QVERIFY2(hub.stderrText().count(QLatin1String("session resumed after")) == 2,
                 hub.transcript().constData());
        // The held agent stayed the active instance: it was never registered anew.
        QCOMPARE(agent.stdoutText().count(QLatin1String("registered with")), 1);
        QVERIFY(!hub.stderrText().contains(QLatin1String("is now active")));
    }

    // A proxy that cuts WebSockets idle for 2.5 s, and a client pinging every 8 s: each cut is
    // resumed, and the client halves its keepalive until the cuts stop.
    void idleCutsShortenTheKeepalive()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, &remotePort, QStringLiteral("127.0.0.1:0")));
        CuttableRelay relay(remotePort);
        relay.setIdleTimeout(2500);
        EchoServer echo;
        Peer client(QStringLiteral("wstunnel"));
        quint16 localPort = 0;
        QVERIFY(startClient(client, relay.port(), echo.serverPort(), &localPort,
                            {QStringLiteral("--keepalive"), QStringLiteral("8")}));
        QTcpSocket connection;
        connection.connectToHost(QHostAddress::LocalHost, localPort);
        QVERIFY(connection.waitForConnected(5000));
        const auto echoes = [&connection](const QByteArray &text) {
            connection.write(text);
            QByteArray received;
            return QTest::qWaitFor(
                [&] {
                    received += connection.readAll();
                    return received == text;
                },
                10000);
        };
        const bool before = echoes("before");
        if (!before)
            qWarning("%s", client.transcript().constData());
        QVERIFY(before);

        const bool adapted = client.waitForStderr(QStringLiteral("pinging every 2 s"), 30000);
        if (!adapted)
            qWarning("%s", client.transcript().constData());
        QVERIFY(adapted);
        QVERIFY(client.stderrText().contains(QLatin1String("pinging every 4 s")));
        const int cuts = relay.idleCuts();
        QVERIFY(cuts >= 2);
        // Idle for more than twice the proxy's timeout: the idle period is what is tested.
        QTest::qWait(6000);
        QCOMPARE(relay.idleCuts(), cuts);
        QVERIFY(echoes("after"));
        QCOMPARE(connection.state(), QAbstractSocket::ConnectedState);
    }

    // A remote that restarted knows no such session: the client resets its connections at once,
    // saying why, and carries on with a new session.
    void restartedRemoteResetsAtOnce()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, &remotePort, QStringLiteral("127.0.0.1:0")));
        CuttableRelay relay(remotePort);
        PumpServer target(kMiB, 2);
        Peer client(QStringLiteral("wstunnel"));
        quint16 localPort = 0;
        QVERIFY(startClient(client, relay.port(), target.serverPort(), &localPort));
        StreamPump local(localPort, kMiB, 1);
        QTRY_VERIFY_WITH_TIMEOUT(local.bytesReceived() == kMiB, 20000);

        remote.kill();
        QCOMPARE(remote.waitForExit(), -1);
        relay.cut();
        QVERIFY(client.waitForStderr(QStringLiteral("connections held"), 10000));
        QVERIFY(!local.disconnected());
        Peer restarted(QStringLiteral("wstunnel-remote"));
        quint16 samePort = 0;
        QVERIFY(startRemote(restarted, &samePort, QStringLiteral("127.0.0.1:%1").arg(remotePort)));
        const bool refused = client.waitForStderr(
            QStringLiteral("resume refused by the remote: no such session"), 20000);
        if (!refused)
            qWarning("%s\n%s", client.transcript().constData(), restarted.transcript().constData());
        QVERIFY(refused);
        QTRY_VERIFY_WITH_TIMEOUT(local.disconnected(), 5000);
        // A new session follows, and new connections work.
        QTRY_VERIFY_WITH_TIMEOUT(client.stderrText().count(QLatin1String("connected to ")) >= 2,
                                 20000);
        StreamPump again(localPort, kMiB, 3);
        QTRY_VERIFY_WITH_TIMEOUT(target.connections == 2 && target.pump->bytesReceived() == kMiB,
                                 20000);
        QCOMPARE(target.pump->receivedDigest(), StreamPump::expectedDigest(kMiB, 3));
    }
};

QTEST_GUILESS_MAIN(ResumeBinariesTest)
#include "tst_resumebinaries.moc"
