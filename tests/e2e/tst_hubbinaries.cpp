// End-to-end tests of the hub and agent roles with the real binaries: wstunnel-remote hub,
// wstunnel-remote agent and wstunnel --headless --agent, started with QProcess and judged by their
// readiness lines, messages, exit codes and the bytes that arrive. Everything stays on 127.0.0.1;
// every wait is bounded and driven by events.

#include "EchoServer.h"
#include "Exchange.h"
#include "Peer.h"
#include "StreamPump.h"

#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>
#include <vector>

namespace {

constexpr qint64 kMiB = 1024 * 1024;
const QByteArray kDesktopToken = "hub-desktop-token-3a9f";
const QByteArray kScopedToken = "hub-scoped-token-51c2";
const QByteArray kAgentToken = "hub-agent-token-d07e";
const QByteArray kCiAgentToken = "hub-ci-agent-token-88b1";
const QString kAgent = QStringLiteral("devbox");

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/\S*)$)"));
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));
const QRegularExpression
    kReverse(QStringLiteral(R"(^reverse forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));
const QRegularExpression
    kRegistered(QStringLiteral(R"(^registered with (\S+) as (\S+) \((\w+)\)$)"));
const QRegularExpression kServedBy(QStringLiteral(R"(^agent (\S+) is (now )?served by (\S+)$)"));
const QRegularExpression kPromoted(QStringLiteral(R"(^(\S+) is now active$)"));
const QRegularExpression
    kPublishing(QStringLiteral(R"(^publishing 127\.0\.0\.1:(\d+) -> (\S+) through agent (\S+)$)"));

QString target(quint16 port)
{
    return QStringLiteral("127.0.0.1:%1").arg(port);
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(content) == content.size();
}

} // namespace

class HubBinariesTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_desktopTokens;
    QString m_agentTokens;

    // Starts a hub on a free port with the test's token files; returns its URL.
    bool startHub(Peer &hub, QString *url, const QStringList &extra = {})
    {
        hub.start(QStringList{QStringLiteral("hub"), QStringLiteral("--listen"),
                              QStringLiteral("127.0.0.1:0"), QStringLiteral("--token-file"),
                              m_desktopTokens, QStringLiteral("--agent-token-file"),
                              m_agentTokens} +
                      extra,
                  QByteArray());
        const QRegularExpressionMatch ready = hub.waitForLine(kListening);
        if (!ready.hasMatch()) {
            qWarning("%s", hub.transcript().constData());
            return false;
        }
        *url = ready.captured(1);
        return true;
    }

    // Starts an agent and waits until the hub has registered it; returns its standing.
    QString startAgent(Peer &agent, const QString &url, const QStringList &extra = {},
                       const QByteArray &token = kAgentToken)
    {
        agent.start(QStringList{QStringLiteral("agent"), QStringLiteral("--hub"), url,
                                QStringLiteral("--name"), kAgent} +
                        extra,
                    token);
        const QRegularExpressionMatch registered = agent.waitForLine(kRegistered);
        if (!registered.hasMatch() || registered.captured(1) != url ||
            registered.captured(2) != kAgent) {
            qWarning("%s", agent.transcript().constData());
            return QString();
        }
        return registered.captured(3);
    }

    // Starts a desktop with one -L forward through the hub to the agent and waits until the
    // hub said who serves it; returns the local port.
    quint16 startDesktop(Peer &desktop, const QString &url, const QString &spec,
                         const QStringList &extra = {})
    {
        desktop.start(QStringList{QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                                  QStringLiteral("--agent"), kAgent, QStringLiteral("-L"), spec} +
                          extra,
                      kDesktopToken);
        const QRegularExpressionMatch forwarding = desktop.waitForLine(kForwarding);
        const QRegularExpressionMatch served = desktop.waitForLine(kServedBy);
        if (!forwarding.hasMatch() || !served.hasMatch()) {
            qWarning("%s", desktop.transcript().constData());
            return 0;
        }
        return quint16(forwarding.captured(1).toUInt());
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(!qEnvironmentVariableIsEmpty("WSTUNNEL_BIN_DIR"),
                 "WSTUNNEL_BIN_DIR must name the directory holding the binaries");
        QVERIFY(m_dir.isValid());
        m_desktopTokens = m_dir.filePath(QStringLiteral("desktops.tokens"));
        m_agentTokens = m_dir.filePath(QStringLiteral("agents.tokens"));
        QVERIFY(writeFile(m_desktopTokens, "# desktops: all agents, or those named\n" +
                                               kDesktopToken + "\n" + kScopedToken + " ci-*\n"));
        QVERIFY(
            writeFile(m_agentTokens, kAgentToken + " devbox\n" + kCiAgentToken + " ci-runner\n"));
    }

    void echoAndReverseForwardThroughTheHub()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port =
            startDesktop(desktop, url, QStringLiteral("0:") + target(echo.serverPort()),
                         {QStringLiteral("-R"), QStringLiteral("0:") + target(echo.serverPort())});
        QVERIFY(port != 0);
        QCOMPARE(exchange(port, "hello through the hub\n"), QByteArray("hello through the hub\n"));

        // -R: the agent listens on its side, and connections there reach the desktop's side.
        const QRegularExpressionMatch reverse = desktop.waitForLine(kReverse);
        QVERIFY2(reverse.hasMatch(), desktop.transcript().constData());
        const quint16 agentSidePort = quint16(reverse.captured(1).toUInt());
        QVERIFY(agentSidePort != 0);
        QVERIFY2(agent.stderrText().contains(
                     QStringLiteral("reverse forwarding %1").arg(target(agentSidePort))),
                 agent.transcript().constData());
        QCOMPARE(exchange(agentSidePort, "the dev side calls back"),
                 QByteArray("the dev side calls back"));
        QCOMPARE(echo.connectionsAccepted(), 2);
    }

    void hundredMebibytesEachWayKeepTheirDigest()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port =
            startDesktop(desktop, url, QStringLiteral("0:") + target(echo.serverPort()));
        QVERIFY(port != 0);
        constexpr qint64 size = 100 * kMiB;
        constexpr quint32 seed = 0x4b0b;
        StreamPump pump(port, size, seed);
        QTRY_VERIFY_WITH_TIMEOUT(pump.bytesReceived() >= size || pump.disconnected(), 240000);
        QVERIFY(pump.sentAll());
        QCOMPARE(pump.bytesReceived(), size);
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(size, seed));
    }

    void twoHundredConcurrentConnections()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port =
            startDesktop(desktop, url, QStringLiteral("0:") + target(echo.serverPort()));
        QVERIFY(port != 0);

        constexpr int count = 200;
        std::vector<std::unique_ptr<QTcpSocket>> sockets;
        QList<QByteArray> answers(count);
        for (int i = 0; i < count; ++i) {
            auto socket = std::make_unique<QTcpSocket>();
            QTcpSocket *raw = socket.get();
            const QByteArray message = "connection " + QByteArray::number(i) + " of 200";
            QObject::connect(raw, &QTcpSocket::connected, raw,
                             [raw, message] { raw->write(message); });
            QObject::connect(raw, &QTcpSocket::readyRead, raw,
                             [raw, &answers, i] { answers[i] += raw->readAll(); });
            raw->connectToHost(QHostAddress::LocalHost, port);
            sockets.push_back(std::move(socket));
        }
        // All 200 are open at once: none is closed before every answer is in.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (int i = 0; i < count; ++i) {
                    if (answers.at(i) != "connection " + QByteArray::number(i) + " of 200")
                        return false;
                }
                return true;
            }(),
            60000);
        QCOMPARE(echo.connectionsAccepted(), count);
        for (const auto &socket : sockets)
            QCOMPARE(socket->state(), QAbstractSocket::ConnectedState);
    }

    // kill -9 of the active agent while short connections keep coming: every connection started
    // two seconds after the kill or later goes through the standby, and everybody says so.
    void killedActiveAgentFailsOverToTheStandby()
    {
        EchoServer echo;
        EchoServer desktopService;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer active(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(active, url), QStringLiteral("active"));
        Peer standby(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(standby, url), QStringLiteral("standby"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port = startDesktop(
            desktop, url, QStringLiteral("0:") + target(echo.serverPort()),
            {QStringLiteral("-R"), QStringLiteral("0:") + target(desktopService.serverPort())});
        QVERIFY(port != 0);
        const QRegularExpressionMatch reverse = desktop.waitForLine(kReverse);
        QVERIFY2(reverse.hasMatch(), desktop.transcript().constData());
        const quint16 reversePort = quint16(reverse.captured(1).toUInt());
        const QRegularExpressionMatch servedBefore = desktop.waitForLine(kServedBy);

        struct Attempt
        {
            qint64 startedMs; // relative to the kill
            bool ok;
        };
        QList<Attempt> attempts;
        QElapsedTimer clock;
        clock.start();
        qint64 killedAtMs = -1;
        int number = 0;
        // A bounded loop: one second before the kill, four after it.
        while (killedAtMs < 0 || clock.elapsed() - killedAtMs < 4000) {
            if (killedAtMs < 0 && clock.elapsed() >= 1000) {
                active.signal(SIGKILL);
                killedAtMs = clock.elapsed();
            }
            const qint64 started = clock.elapsed();
            const QByteArray message = "short connection " + QByteArray::number(++number);
            const bool ok = exchange(port, message, 5000) == message;
            attempts.append(Attempt{killedAtMs < 0 ? started - 1000000 : started - killedAtMs, ok});
        }
        int late = 0;
        for (const Attempt &attempt : std::as_const(attempts)) {
            if (attempt.startedMs < 2000)
                continue;
            ++late;
            QVERIFY2(attempt.ok, qPrintable(QStringLiteral("a connection started %1 ms after the "
                                                           "kill failed\n")
                                                .arg(attempt.startedMs) +
                                            QString::fromLocal8Bit(hub.transcript())));
        }
        QVERIFY2(late >= 5, "too few connections after the failover to tell");

        QVERIFY2(standby.waitForLine(kPromoted).hasMatch(), standby.transcript().constData());
        QVERIFY2(hub.stderrText().contains(QStringLiteral("is now active")),
                 hub.transcript().constData());
        const QRegularExpressionMatch servedAfter = desktop.waitForLine(
            QRegularExpression(QStringLiteral(R"(^agent devbox is now served by (\S+)$)")));
        QVERIFY2(servedAfter.hasMatch() && servedAfter.captured(1) != servedBefore.captured(3),
                 desktop.transcript().constData());
        // The reverse forward listens again, on the same port, on the new active agent.
        QTRY_VERIFY_WITH_TIMEOUT(exchange(reversePort, "reverse after the failover", 2000) ==
                                     "reverse after the failover",
                                 10000);
    }

    // An agent that stops answering without closing (a frozen process, a dead route) is taken
    // for gone after three keepalive intervals, and the standby is promoted.
    void silentActiveAgentIsReplaced()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url, {QStringLiteral("--keepalive"), QStringLiteral("0.3")}));
        Peer active(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(active, url), QStringLiteral("active"));
        Peer standby(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(standby, url), QStringLiteral("standby"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port =
            startDesktop(desktop, url, QStringLiteral("0:") + target(echo.serverPort()));
        QVERIFY(port != 0);

        active.signal(SIGSTOP);
        QVERIFY2(standby.waitForLine(kPromoted).hasMatch(), standby.transcript().constData());
        QVERIFY2(hub.stderrText().contains(QStringLiteral("no answer from the peer")),
                 hub.transcript().constData());
        QCOMPARE(exchange(port, "through the standby"), QByteArray("through the standby"));
        active.signal(SIGCONT);
    }

    void aDesktopWaitsForItsAgent()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                       QStringLiteral("0:") + target(echo.serverPort())},
                      kDesktopToken);
        const QRegularExpressionMatch forwarding = desktop.waitForLine(kForwarding);
        QVERIFY2(forwarding.hasMatch(), desktop.transcript().constData());
        const quint16 port = quint16(forwarding.captured(1).toUInt());
        const QString waiting =
            QStringLiteral("no agent named devbox is connected to the hub; waiting");
        QVERIFY2(desktop.waitForStderr(waiting), desktop.transcript().constData());
        // Connections made meanwhile are closed, and the desktop says why.
        QCOMPARE(exchange(port, "too early"), QByteArray());
        QVERIFY2(desktop.waitForStderr(
                     QStringLiteral("(no agent named devbox is connected to the hub)")),
                 desktop.transcript().constData());
        QVERIFY(desktop.isRunning());

        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        QVERIFY2(desktop.waitForLine(kServedBy).hasMatch(), desktop.transcript().constData());
        QCOMPARE(exchange(port, "in time"), QByteArray("in time"));
    }

    void publishedPortReachesTheAgentsTarget()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url,
                         {QStringLiteral("--publish"),
                          QStringLiteral("127.0.0.1:0:devbox:") + target(echo.serverPort())}));
        const QRegularExpressionMatch publishing = hub.waitForLine(kPublishing);
        QVERIFY2(publishing.hasMatch(), hub.transcript().constData());
        QCOMPARE(publishing.captured(2), target(echo.serverPort()));
        QCOMPARE(publishing.captured(3), kAgent);
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        QCOMPARE(exchange(quint16(publishing.captured(1).toUInt()), "published"),
                 QByteArray("published"));
    }

    void wrongTokensAreRefused()
    {
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:9")},
                      "not-a-desktop-token");
        QCOMPARE(desktop.waitForExit(), 1);
        QVERIFY2(desktop.stderrText().contains(QStringLiteral("HTTP 401")),
                 desktop.transcript().constData());

        Peer agent(QStringLiteral("wstunnel-remote"));
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"), url,
                     QStringLiteral("--name"), kAgent},
                    "not-an-agent-token");
        QCOMPARE(agent.waitForExit(), 1);
        QVERIFY2(agent.stderrText().contains(QStringLiteral("HTTP 401")),
                 agent.transcript().constData());
        QVERIFY(agent.stdoutText().isEmpty());
    }

    void anAgentTokenBoundToAnotherNameRegistersNothing()
    {
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"), url,
                     QStringLiteral("--name"), kAgent},
                    kCiAgentToken);
        QCOMPARE(agent.waitForExit(), 1);
        QVERIFY2(agent.stderrText().contains(QStringLiteral("HTTP 403")),
                 agent.transcript().constData());
        QVERIFY(agent.stdoutText().isEmpty());
        QVERIFY2(hub.waitForStderr(QStringLiteral("may only register agent ci-runner, not devbox")),
                 hub.transcript().constData());
        QVERIFY(!hub.stderrText().contains(QStringLiteral("registered")));

        // Nothing was registered: a desktop finds no agent of that name.
        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:9")},
                      kDesktopToken);
        QVERIFY2(desktop.waitForStderr(QStringLiteral("no agent named devbox")),
                 desktop.transcript().constData());
    }

    void aScopedDesktopTokenCannotReachOtherAgents()
    {
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url), QStringLiteral("active"));
        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:9")},
                      kScopedToken);
        QCOMPARE(desktop.waitForExit(), 1);
        QVERIFY2(desktop.stderrText().contains(QStringLiteral("HTTP 403")),
                 desktop.transcript().constData());
        QVERIFY2(hub.stderrText().contains(QStringLiteral("may not reach agent devbox")),
                 hub.transcript().constData());
    }

    void listAgentsPrintsTheInstancesTheTokenMayReach()
    {
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer active(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(active, url), QStringLiteral("active"));
        Peer standby(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(standby, url), QStringLiteral("standby"));

        Peer all(QStringLiteral("wstunnel"));
        all.start({QStringLiteral("--remote"), url, QStringLiteral("--list-agents")},
                  kDesktopToken);
        QCOMPARE(all.waitForExit(), 0);
        const QStringList lines = all.stdoutText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        const QRegularExpression line(QStringLiteral(
            R"(^devbox (active|standby) 127\.0\.0\.1:\d+ since \d{4}-\d\d-\d\dT[\d:]+Z$)"));
        QVERIFY2(line.match(lines.at(0)).captured(1) == QStringLiteral("active"),
                 all.transcript().constData());
        QVERIFY2(line.match(lines.at(1)).captured(1) == QStringLiteral("standby"),
                 all.transcript().constData());

        // A token scoped to ci-* sees none of them.
        Peer scoped(QStringLiteral("wstunnel"));
        scoped.start({QStringLiteral("--remote"), url, QStringLiteral("--list-agents")},
                     kScopedToken);
        QCOMPARE(scoped.waitForExit(), 0);
        QVERIFY2(scoped.stdoutText().isEmpty(), scoped.transcript().constData());
        QVERIFY2(scoped.stderrText().contains(QStringLiteral("no agent")),
                 scoped.transcript().constData());
    }

    void theAgentEnforcesItsAllowList()
    {
        EchoServer allowed;
        EchoServer forbidden;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url));
        Peer agent(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(agent, url, {QStringLiteral("--allow"), target(allowed.serverPort())}),
                 QStringLiteral("active"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port = startDesktop(
            desktop, url, QStringLiteral("0:") + target(forbidden.serverPort()),
            {QStringLiteral("-L"), QStringLiteral("0:") + target(allowed.serverPort())});
        QVERIFY(port != 0);
        QCOMPARE(exchange(port, "let me in"), QByteArray());
        QVERIFY2(
            agent.waitForStderr(
                QStringLiteral("%1 is not in the allow-list").arg(target(forbidden.serverPort()))),
            agent.transcript().constData());
        QVERIFY2(desktop.waitForStderr(QStringLiteral("is not in the allow-list")),
                 desktop.transcript().constData());
        QCOMPARE(forbidden.connectionsAccepted(), 0);

        const QStringList lines = desktop.stdoutText().split(QLatin1Char('\n'));
        QRegularExpressionMatch second;
        for (const QString &line : lines) {
            const QRegularExpressionMatch match = kForwarding.match(line);
            if (match.hasMatch() && match.captured(2) == target(allowed.serverPort()))
                second = match;
        }
        QVERIFY(second.hasMatch());
        QCOMPARE(exchange(quint16(second.captured(1).toUInt()), "allowed"), QByteArray("allowed"));
    }

    // Every role, verbose, through registrations, refusals, channels and a failover: no token
    // ever appears in what the processes print.
    void noTokenAppearsInAnyLog()
    {
        EchoServer echo;
        Peer hub(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startHub(hub, &url, {QStringLiteral("--verbose")}));
        Peer first(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(first, url, {QStringLiteral("--verbose")}), QStringLiteral("active"));
        Peer second(QStringLiteral("wstunnel-remote"));
        QCOMPARE(startAgent(second, url, {QStringLiteral("--verbose")}), QStringLiteral("standby"));
        Peer desktop(QStringLiteral("wstunnel"));
        const quint16 port =
            startDesktop(desktop, url, QStringLiteral("0:") + target(echo.serverPort()),
                         {QStringLiteral("--verbose")});
        QVERIFY(port != 0);
        QCOMPARE(exchange(port, "secret-free"), QByteArray("secret-free"));
        Peer impostor(QStringLiteral("wstunnel-remote"));
        impostor.start({QStringLiteral("agent"), QStringLiteral("--hub"), url,
                        QStringLiteral("--name"), kAgent, QStringLiteral("--verbose")},
                       kCiAgentToken);
        QCOMPARE(impostor.waitForExit(), 1);
        Peer scoped(QStringLiteral("wstunnel"));
        scoped.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                      QStringLiteral("0:127.0.0.1:9"), QStringLiteral("--verbose")},
                     kScopedToken);
        QCOMPARE(scoped.waitForExit(), 1);
        first.signal(SIGKILL);
        QVERIFY(second.waitForLine(kPromoted).hasMatch());
        QCOMPARE(exchange(port, "after"), QByteArray("after"));

        for (Peer *peer : {&hub, &first, &second, &desktop, &impostor, &scoped}) {
            const QString output = peer->stdoutText() + peer->stderrText();
            QVERIFY(!output.isEmpty());
            for (const QByteArray &token :
                 {kDesktopToken, kScopedToken, kAgentToken, kCiAgentToken})
                QVERIFY2(!output.contains(QString::fromLatin1(token)),
                         peer->transcript().constData());
        }
    }

    // A serve remote ignores the naming headers; neither end goes on as if it were a hub.
    void aServeRemoteIsNoHub()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}, kDesktopToken);
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        QVERIFY2(ready.hasMatch(), remote.transcript().constData());
        const QString url = ready.captured(1);

        Peer desktop(QStringLiteral("wstunnel"));
        desktop.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("--agent"), kAgent, QStringLiteral("-L"),
                       QStringLiteral("0:127.0.0.1:9")},
                      kDesktopToken);
        QCOMPARE(desktop.waitForExit(), 1);
        QVERIFY2(desktop.stderrText().contains(QStringLiteral("is not a hub")),
                 desktop.transcript().constData());

        Peer agent(QStringLiteral("wstunnel-remote"));
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"), url,
                     QStringLiteral("--name"), kAgent},
                    kDesktopToken);
        QCOMPARE(agent.waitForExit(), 1);
        QVERIFY2(agent.stderrText().contains(QStringLiteral("is not a hub")),
                 agent.transcript().constData());
        QVERIFY(agent.stdoutText().isEmpty());

        Peer lister(QStringLiteral("wstunnel"));
        lister.start({QStringLiteral("--remote"), url, QStringLiteral("--list-agents")},
                     kDesktopToken);
        QCOMPARE(lister.waitForExit(), 1);
        QVERIFY2(lister.stderrText().contains(QStringLiteral("is not a hub")),
                 lister.transcript().constData());
    }

    void agentCommandLineErrors_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("no hub") << QStringList{QStringLiteral("agent"), QStringLiteral("--name"),
                                               kAgent}
                                << QStringLiteral("--hub");
        QTest::newRow("no name") << QStringList{QStringLiteral("agent"), QStringLiteral("--hub"),
                                                QStringLiteral("ws://127.0.0.1:9/")}
                                 << QStringLiteral("--name");
        QTest::newRow("bad name") << QStringList{QStringLiteral("agent"), QStringLiteral("--hub"),
                                                 QStringLiteral("ws://127.0.0.1:9/"),
                                                 QStringLiteral("--name"),
                                                 QStringLiteral("dev box")}
                                  << QStringLiteral("dev box");
        QTest::newRow("hub not a URL")
            << QStringList{QStringLiteral("agent"), QStringLiteral("--hub"),
                           QStringLiteral("http://127.0.0.1:9/"), QStringLiteral("--name"), kAgent}
            << QStringLiteral("ws://");
        QTest::newRow("hub without agent tokens")
            << QStringList{QStringLiteral("hub"), QStringLiteral("--listen"),
                           QStringLiteral("127.0.0.1:0")}
            << QStringLiteral("--agent-token-file");
        QTest::newRow("allow on a hub")
            << QStringList{QStringLiteral("hub"), QStringLiteral("--allow"),
                           QStringLiteral("127.0.0.1:*")}
            << QStringLiteral("--allow");
        QTest::newRow("hub options for serve")
            << QStringList{QStringLiteral("--publish"), QStringLiteral("1:devbox:127.0.0.1:2")}
            << QStringLiteral("hub role");
    }

    void agentCommandLineErrors()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, mentions);
        Peer peer(QStringLiteral("wstunnel-remote"));
        peer.start(arguments);
        QCOMPARE(peer.waitForExit(), 2);
        QVERIFY2(peer.stderrText().contains(mentions), peer.transcript().constData());
        QVERIFY(peer.stdoutText().isEmpty());
    }
};

QTEST_GUILESS_MAIN(HubBinariesTest)
#include "tst_hubbinaries.moc"
