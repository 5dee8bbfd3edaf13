// Resumable sessions with the real binaries: a TCP relay of the test's own sits between
// wstunnel --headless and wstunnel-remote and cuts the WebSocket (both sides closed abruptly) in
// the middle of transfers, as a proxy or a roaming network would.
#include "CuttableRelay.h"
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

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSTUNNEL_ADDRESS_SANITIZER
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(WSTUNNEL_ADDRESS_SANITIZER)
constexpr bool kUnderAddressSanitizer = true;
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/\S*)$)"));
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));

// The resident set size of a process in KiB, from /proc/PID/status; -1 when unreadable.
qint64 residentKiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = status.readAll();
    const qsizetype at = text.indexOf("VmRSS:");
    if (at < 0)
        return -1;
    const qsizetype end = text.indexOf('\n', at);
    return text.mid(at + 6, end - at - 6).replace("kB", "").trimmed().toLongLong();
}

const QRegularExpression
    kRegistered(QStringLiteral(R"(^registered with (\S+) as (\S+) \((\w+)\)$)"));
const QRegularExpression kServedBy(QStringLiteral(R"(^agent (\S+) is (now )?served by (\S+)$)"));

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(content) == content.size();
}

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

    // A hub with one desktop token and an agent token for devbox, written into dir.
    struct HubTokens
    {
        QByteArray desktop = "restart-hub-desktop-token-5b2e";
        QByteArray agent = "restart-hub-agent-token-93fd";
        QString desktopFile;
        QString agentFile;
    };

    bool writeHubTokens(const QTemporaryDir &dir, HubTokens *tokens)
    {
        tokens->desktopFile = dir.filePath(QStringLiteral("desktops.tokens"));
        tokens->agentFile = dir.filePath(QStringLiteral("agents.tokens"));
        return writeFile(tokens->desktopFile, tokens->desktop + "\n") &&
               writeFile(tokens->agentFile, tokens->agent + " devbox\n");
    }

    bool startHub(Peer &hub, const HubTokens &tokens, const QString &listen, quint16 *port)
    {
        hub.start({QStringLiteral("hub"), QStringLiteral("--listen"), listen,
                   QStringLiteral("--token-file"), tokens.desktopFile,
                   QStringLiteral("--agent-token-file"), tokens.agentFile},
                  QByteArray());
        const QRegularExpressionMatch listening = hub.waitForLine(kListening);
        if (!listening.hasMatch()) {
            qWarning("%s", hub.transcript().constData());
            return false;
        }
        *port = quint16(listening.captured(2).toUInt());
        return true;
    }

    bool startAgent(Peer &agent, const HubTokens &tokens, quint16 hubPort)
    {
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"),
                     QStringLiteral("ws://127.0.0.1:%1/").arg(hubPort), QStringLiteral("--name"),
                     QStringLiteral("devbox")},
                    tokens.agent);
        const QRegularExpressionMatch registered = agent.waitForLine(kRegistered);
        if (!registered.hasMatch() || registered.captured(3) != QLatin1String("active")) {
            qWarning("%s", agent.transcript().constData());
            return false;
        }
        return true;
    }

    // A desktop forwarding to targetPort through the agent devbox; waits until it is served.
    bool startDesktop(Peer &desktop, const HubTokens &tokens, quint16 hubPort, quint16 targetPort,
                      quint16 *localPort)
    {
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                       QStringLiteral("ws://127.0.0.1:%1/").arg(hubPort), QStringLiteral("--agent"),
                       QStringLiteral("devbox"), QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:%1").arg(targetPort)},
                      tokens.desktop);
        const QRegularExpressionMatch forwarding = desktop.waitForLine(kForwarding);
        if (!forwarding.hasMatch() || !desktop.waitForLine(kServedBy).hasMatch()) {
            qWarning("%s", desktop.transcript().constData());
            return false;
        }
        *localPort = quint16(forwarding.captured(1).toUInt());
        return true;
    }

    // desktop -> hub <- agent devbox, all real binaries, with one connection open through them
    // that has carried a MiB each way.
    struct HubChain
    {
        QTemporaryDir dir;
        HubTokens tokens;
        Peer hub{QStringLiteral("wstunnel-remote")};
        quint16 hubPort = 0;
        Peer agent{QStringLiteral("wstunnel-remote")};
        PumpServer target{kMiB, 2};
        Peer desktop{QStringLiteral("wstunnel")};
        quint16 localPort = 0;
        std::unique_ptr<StreamPump> local;
    };

    void openHubChain(HubChain &chain)
    {
        QVERIFY(chain.dir.isValid());
        QVERIFY(writeHubTokens(chain.dir, &chain.tokens));
        QVERIFY(startHub(chain.hub, chain.tokens, QStringLiteral("127.0.0.1:0"), &chain.hubPort));
        QVERIFY(startAgent(chain.agent, chain.tokens, chain.hubPort));
        QVERIFY(startDesktop(chain.desktop, chain.tokens, chain.hubPort, chain.target.serverPort(),
                             &chain.localPort));
        chain.local = std::make_unique<StreamPump>(chain.localPort, kMiB, 1);
        QTRY_VERIFY_WITH_TIMEOUT(chain.target.pump && chain.target.pump->bytesReceived() == kMiB &&
                                     chain.local->bytesReceived() == kMiB,
                                 20000);
    }

private Q_SLOTS:
    // Five cuts during a gigabyte each way at once: both streams arrive whole, and neither local
    // connection ever sees a reset. Under AddressSanitizer, where each byte costs several times
    // as much, a quarter of it: about 40 MiB still pass between cuts, many times what the windows
    // and the relay hold in flight, so every cut still finds them full.
    void gigabyteEachWayAcrossFiveCuts()
    {
        constexpr qint64 kSize = (kUnderAddressSanitizer ? 256 : 1024) * kMiB;
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

    // A 60 s outage (nothing gets through, redials are refused) while the local writers on both
    // sides keep pushing: neither process grows beyond 64 MiB, as held channels read nothing,
    // and once the relay is back the transfer finishes whole.
    void memoryStaysBoundedDuringALongOutage()
    {
        constexpr qint64 kSize = 256 * kMiB;
        constexpr qint64 kMaxResidentKiB = 64 * 1024;
        constexpr int kOutageMs = 60000;
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
        QTRY_VERIFY_WITH_TIMEOUT(
            far.bytesReceived() >= 16 * kMiB && local.bytesReceived() >= 16 * kMiB, 30000);

        relay.goDown();
        QVERIFY2(client.waitForStderr(QStringLiteral("connections held"), 10000),
                 client.transcript().constData());
        qint64 peakClient = 0;
        qint64 peakRemote = 0;
        int samples = 0;
        QTimer sampler;
        connect(&sampler, &QTimer::timeout, this, [&] {
            peakClient = qMax(peakClient, residentKiB(client.processId()));
            peakRemote = qMax(peakRemote, residentKiB(remote.processId()));
            ++samples;
        });
        sampler.start(250);
        // The outage itself is what is tested: it lasts its full length.
        QTest::qWait(kOutageMs);
        sampler.stop();
        QVERIFY(samples >= 100);
        QVERIFY2(peakClient > 0 && peakClient < kMaxResidentKiB,
                 qPrintable(QStringLiteral("client peaked at %1 KiB").arg(peakClient)));
        QVERIFY2(peakRemote > 0 && peakRemote < kMaxResidentKiB,
                 qPrintable(QStringLiteral("remote peaked at %1 KiB").arg(peakRemote)));
        QVERIFY(!local.disconnected());
        QVERIFY(!far.disconnected());
        qInfo("resident during the outage: client at most %lld KiB, remote at most %lld KiB",
              peakClient, peakRemote);

        QVERIFY(relay.restore());
        const bool resumed = client.waitForStderr(QStringLiteral("session resumed after"), 30000);
        if (!resumed)
            qWarning("%s\n%s", client.transcript().constData(), remote.transcript().constData());
        QVERIFY(resumed);
        QTRY_VERIFY_WITH_TIMEOUT(far.bytesReceived() == kSize && local.bytesReceived() == kSize,
                                 60000);
        QCOMPARE(far.receivedDigest(), StreamPump::expectedDigest(kSize, 1));
        QCOMPARE(local.receivedDigest(), StreamPump::expectedDigest(kSize, 2));
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

    // desktop -> hub <- agent with a connection open: the hub is killed and started again on
    // its port. It knows no session, so the desktop resets the connection as soon as it is back,
    // long before the resume timeout, and says why and how many connections ended.
    void restartedHubEndsTheConnectionsAtOnce()
    {
        HubChain chain;
        openHubChain(chain);
        if (QTest::currentTestFailed())
            return;
        auto &[dir, tokens, hub, hubPort, agent, target, desktop, localPort, localPump] = chain;
        StreamPump &local = *localPump;

        hub.kill();
        QCOMPARE(hub.waitForExit(), -1);
        QVERIFY2(desktop.waitForStderr(QStringLiteral("connections held"), 10000),
                 desktop.transcript().constData());
        QVERIFY(!local.disconnected());
        Peer restarted(QStringLiteral("wstunnel-remote"));
        quint16 samePort = 0;
        QElapsedTimer sinceRestart;
        sinceRestart.start();
        QVERIFY(
            startHub(restarted, tokens, QStringLiteral("127.0.0.1:%1").arg(hubPort), &samePort));
        const bool told = desktop.waitForStderr(
            QStringLiteral("resume refused by the hub: no such session (it restarted"), 30000);
        if (!told)
            qWarning("%s\n%s", desktop.transcript().constData(),
                     restarted.transcript().constData());
        QVERIFY(told);
        QTRY_VERIFY_WITH_TIMEOUT(local.disconnected(), 5000);
        // Well before the resume timeout (120 s): the desktop redials within its backoff.
        QVERIFY2(sinceRestart.elapsed() < 30000,
                 qPrintable(QString::number(sinceRestart.elapsed())));
        // The client's own line follows the session's, and stderr arrives when it arrives.
        QVERIFY2(desktop.waitForStderr(QStringLiteral("; 1 connections ended"), 10000),
                 desktop.transcript().constData());
        // The agent's side of the connection ends too, for the same reason.
        QVERIFY2(agent.waitForStderr(QStringLiteral("resume refused by the hub: no such session"),
                                     30000),
                 agent.transcript().constData());
        QTRY_VERIFY_WITH_TIMEOUT(target.pump->disconnected(), 5000);
        // A new session through the restarted hub serves new connections.
        QTRY_VERIFY2_WITH_TIMEOUT(agent.stdoutText().count(QLatin1String("registered with")) == 2,
                                  agent.transcript().constData(), 30000);
        QVERIFY2(
            desktop
                .waitForLine(QRegularExpression(QStringLiteral("^agent devbox is now served by ")),
                             30000)
                .hasMatch(),
            desktop.transcript().constData());
        StreamPump again(localPort, kMiB, 3);
        QTRY_VERIFY_WITH_TIMEOUT(target.connections == 2 && target.pump->bytesReceived() == kMiB,
                                 20000);
        QCOMPARE(target.pump->receivedDigest(), StreamPump::expectedDigest(kMiB, 3));
    }

    // desktop -> hub <- agent with a connection open: the agent is killed and started again. Its
    // new session replaces the held one at once, whose connections end with a reason naming the
    // agent, long before the resume timeout; the restarted agent serves new connections.
    void restartedAgentEndsItsConnectionsAtOnce()
    {
        HubChain chain;
        openHubChain(chain);
        if (QTest::currentTestFailed())
            return;
        auto &[dir, tokens, hub, hubPort, agent, target, desktop, localPort, localPump] = chain;
        StreamPump &local = *localPump;

        agent.kill();
        QCOMPARE(agent.waitForExit(), -1);
        QVERIFY2(hub.waitForStderr(QStringLiteral("held for 120 s for a resume"), 10000),
                 hub.transcript().constData());
        QVERIFY(!local.disconnected());
        Peer restarted(QStringLiteral("wstunnel-remote"));
        QElapsedTimer sinceRestart;
        sinceRestart.start();
        QVERIFY(startAgent(restarted, tokens, hubPort));
        QTRY_VERIFY_WITH_TIMEOUT(local.disconnected(), 10000);
        QVERIFY2(sinceRestart.elapsed() < 30000,
                 qPrintable(QString::number(sinceRestart.elapsed())));
        // The desktop's log says which agent restarted.
        const bool named = desktop.waitForStderr(
            QStringLiteral("session ended: agent devbox restarted (a new session from 127.0.0.1 "
                           "replaced this one)"),
            5000);
        if (!named)
            qWarning("%s\n%s", desktop.transcript().constData(), hub.transcript().constData());
        QVERIFY(named);
        // The restarted agent is the active one and serves new connections.
        StreamPump again(localPort, kMiB, 3);
        QTRY_VERIFY_WITH_TIMEOUT(target.connections == 2 && target.pump->bytesReceived() == kMiB,
                                 20000);
        QCOMPARE(target.pump->receivedDigest(), StreamPump::expectedDigest(kMiB, 3));
    }
};

QTEST_GUILESS_MAIN(ResumeBinariesTest)
#include "tst_resumebinaries.moc"
