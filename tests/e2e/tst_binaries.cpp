// End-to-end tests of the two real binaries: wstunnel-remote and wstunnel --headless are started
// with QProcess, exactly as a user or a script would start them, and are judged only by what a
// user sees: their readiness lines, their messages, their exit codes and the bytes that arrive.
// Everything stays on 127.0.0.1; every wait is bounded and driven by events, never by sleeping.

#include "EchoServer.h"
#include "Exchange.h"
#include "Peer.h"
#include "StreamPump.h"
#include "UdpEchoServer.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QNetworkDatagram>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUdpSocket>

#include <memory>

#include <csignal>
#include <sys/types.h>

namespace {

constexpr qint64 kMiB = 1024 * 1024;

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/\S*)$)"));
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));
const QRegularExpression
    kReverse(QStringLiteral(R"(^reverse forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));

QString target(quint16 port)
{
    return QStringLiteral("127.0.0.1:%1").arg(port);
}

// A port nothing listens on right now.
quint16 unusedPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(content) == content.size();
}

} // namespace

class BinariesTest : public QObject
{
    Q_OBJECT

private:
    // Starts wstunnel-remote on a free port and waits for its readiness line.
    bool startRemote(Peer &remote, QStringList arguments, QString *url, quint16 *port = nullptr,
                     const QString &listen = QStringLiteral("127.0.0.1:0"))
    {
        if (!listen.isEmpty())
            arguments << QStringLiteral("--listen") << listen;
        remote.start(arguments);
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        if (!ready.hasMatch()) {
            qWarning("%s", remote.transcript().constData());
            return false;
        }
        *url = ready.captured(1);
        if (port)
            *port = quint16(ready.captured(2).toUInt());
        return true;
    }

    // Waits until the client's session with the remote is up (its log line is the only sign).
    // The readiness line comes when the listener is bound, before the session exists; a
    // connection made in between must wait for the session, which
    // firstConnectionRightAfterReadinessLine checks. The other cases wait here so that they test
    // their own feature only.
    bool waitForSession(Peer &client, int count = 1)
    {
        const bool up = QTest::qWaitFor(
            [&] {
                return client.stderrText().count(QLatin1String("connected to ")) >= count ||
                       !client.isRunning();
            },
            kStartTimeoutMs);
        if (!up || !client.isRunning()) {
            qWarning("%s", client.transcript().constData());
            return false;
        }
        return true;
    }

    // Starts wstunnel --headless with one -L forward and returns the local port it reports once
    // the tunnel carries traffic.
    bool startLocalForward(Peer &client, const QString &url, const QString &spec, quint16 *port,
                           const QStringList &extra = {})
    {
        client.start(QStringList{QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                                 QStringLiteral("-L"), spec} +
                     extra);
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        if (!ready.hasMatch()) {
            qWarning("%s", client.transcript().constData());
            return false;
        }
        *port = quint16(ready.captured(1).toUInt());
        return *port != 0 && waitForSession(client);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(!qEnvironmentVariableIsEmpty("WSTUNNEL_BIN_DIR"),
                 "WSTUNNEL_BIN_DIR must name the directory holding the binaries");
        for (const char *name : {"wstunnel", "wstunnel-remote"}) {
            const QString path = binary(QString::fromLatin1(name));
            QVERIFY2(QFileInfo(path).isExecutable(),
                     qPrintable(path + QStringLiteral(" is not executable")));
        }
    }

    void echoThroughLocalForward()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &port));
        const QByteArray request = "hello from the laptop\n";
        QCOMPARE(exchange(port, request), request);
        // A second connection over the same session.
        QCOMPARE(exchange(port, "again"), QByteArray("again"));
        QCOMPARE(echo.connectionsAccepted(), 2);
    }

    // What a script does: start wstunnel, wait for its readiness line, connect. The connection
    // must reach the target, not be reset because the WebSocket session is still being set up.
    void firstConnectionRightAfterReadinessLine()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:") + target(echo.serverPort())});
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        QVERIFY2(ready.hasMatch(), client.transcript().constData());
        const QByteArray answer = exchange(quint16(ready.captured(1).toUInt()), "right away");
        QVERIFY2(answer == "right away",
                 "the connection made right after the 'forwarding' line was closed:\n" +
                     client.transcript());
    }

    void twentyMebibytesKeepTheirDigest()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &port));
        constexpr qint64 size = 20 * kMiB;
        constexpr quint32 seed = 0x20e2e;
        StreamPump pump(port, size, seed);
        QTRY_VERIFY_WITH_TIMEOUT(pump.bytesReceived() >= size || pump.disconnected(), 120000);
        QVERIFY(pump.sentAll());
        QCOMPARE(pump.bytesReceived(), size);
        QCOMPARE(pump.receivedDigest(), StreamPump::expectedDigest(size, seed));
    }

    void portZeroReportsThePortPicked()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, {}, &url, &remotePort));
        QVERIFY(remotePort != 0);
        QCOMPARE(url, QStringLiteral("ws://127.0.0.1:%1/").arg(remotePort));

        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:") + target(echo.serverPort()),
                      QStringLiteral("-L"),
                      QStringLiteral("127.0.0.1:0:") + target(echo.serverPort())});
        QTRY_VERIFY2_WITH_TIMEOUT(client.lineCount() >= 2 || !client.isRunning(),
                                  client.transcript().constData(), kStartTimeoutMs);
        QVERIFY(waitForSession(client));
        const QStringList lines = client.stdoutText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QList<quint16> ports;
        for (const QString &line : lines) {
            const QRegularExpressionMatch match = kForwarding.match(line);
            QVERIFY2(match.hasMatch(), qPrintable(line));
            QCOMPARE(match.captured(2), target(echo.serverPort()));
            ports << quint16(match.captured(1).toUInt());
        }
        QVERIFY(ports.at(0) != 0);
        QVERIFY(ports.at(1) != 0);
        QVERIFY(ports.at(0) != ports.at(1));
        // The reported ports are the ones really listening.
        for (const quint16 port : std::as_const(ports))
            QCOMPARE(exchange(port, "which port?"), QByteArray("which port?"));
    }

    void reverseForwardReachesTheDesktop()
    {
        EchoServer desktopService; // runs "on the laptop", next to wstunnel
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-R"),
                      QStringLiteral("0:") + target(desktopService.serverPort())});
        const QRegularExpressionMatch ready = client.waitForLine(kReverse);
        QVERIFY2(ready.hasMatch(), client.transcript().constData());
        QCOMPARE(ready.captured(2), target(desktopService.serverPort()));
        const quint16 remoteSidePort = quint16(ready.captured(1).toUInt());
        QVERIFY(remoteSidePort != 0);
        const QByteArray request = "the load balancer calls the debug instance";
        QCOMPARE(exchange(remoteSidePort, request), request);
        QCOMPARE(desktopService.connectionsAccepted(), 1);
    }

    void refusedReverseForwardEndsTheClient()
    {
        QTcpServer occupant; // the remote side's port is taken
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        const QString spec = QStringLiteral("%1:127.0.0.1:9").arg(occupant.serverPort());
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-R"), spec});
        QCOMPARE(client.waitForExit(), 1);
        const QString lastLine = client.stderrText().trimmed().split(QLatin1Char('\n')).last();
        QVERIFY2(lastLine.startsWith(QLatin1String("wstunnel: -R 127.0.0.1:") + spec) &&
                     lastLine.contains(QLatin1String("in use")),
                 client.transcript().constData());
        QVERIFY(remote.isRunning());
    }

    void clientSurvivesRemoteRestart_data()
    {
        QTest::addColumn<bool>("graceful");
        QTest::newRow("SIGTERM") << true;
        QTest::newRow("SIGKILL") << false;
    }

    void clientSurvivesRemoteRestart()
    {
        QFETCH(bool, graceful);
        EchoServer echo;
        EchoServer desktopService;
        const quint16 reversePort = unusedPort();
        auto remote = std::make_unique<Peer>(QStringLiteral("wstunnel-remote"));
        QString url;
        quint16 remotePort = 0;
        QVERIFY(startRemote(*remote, {}, &url, &remotePort));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(
            client, url, QStringLiteral("0:") + target(echo.serverPort()), &port,
            {QStringLiteral("-R"),
             QStringLiteral("%1:%2").arg(reversePort).arg(target(desktopService.serverPort()))}));
        QVERIFY2(client.waitForLine(kReverse).hasMatch(), client.transcript().constData());
        QCOMPARE(exchange(port, "before"), QByteArray("before"));
        QCOMPARE(exchange(reversePort, "reverse before"), QByteArray("reverse before"));
        const int linesBefore = client.lineCount();

        if (graceful) {
            remote->terminate();
            QCOMPARE(remote->waitForExit(), 0);
        } else {
            remote->kill();
            QCOMPARE(remote->waitForExit(), -1); // killed by a signal
        }
        // The client keeps running and keeps its local port while the remote is away.
        QTRY_VERIFY_WITH_TIMEOUT(client.stderrText().contains(QLatin1String("retrying")), 10000);
        QVERIFY2(client.isRunning(), client.transcript().constData());
        {
            QTcpServer squatter;
            QVERIFY2(!squatter.listen(QHostAddress::LocalHost, port),
                     "the client gave up its local port while the remote was away");
        }

        // A program connecting meanwhile waits for the remote instead of being turned away.
        QTcpSocket during;
        during.connectToHost(QHostAddress::LocalHost, port);
        QTRY_COMPARE_WITH_TIMEOUT(during.state(), QAbstractSocket::ConnectedState, 5000);
        during.write("made while the remote was away");

        remote = std::make_unique<Peer>(QStringLiteral("wstunnel-remote"));
        QString newUrl;
        QVERIFY(startRemote(*remote, {}, &newUrl, nullptr, target(remotePort)));
        QCOMPARE(newUrl, url);

        // Traffic flows again once the client's backoff lets it reconnect: the remote was away
        // for a few backoff steps of 0.5 s, 1 s, 2 s, well inside the wait.
        QVERIFY(waitForSession(client, 2));
        QTRY_COMPARE_WITH_TIMEOUT(during.peek(64), QByteArray("made while the remote was away"),
                                  10000);
        QCOMPARE(exchange(port, "after"), QByteArray("after"));
        QVERIFY(client.isRunning());
        QCOMPARE(exchange(port, "and again"), QByteArray("and again"));
        // The reverse forward is set up again on the new remote, on the same port.
        const QRegularExpressionMatch reverseAgain =
            client.waitForLine(kReverse, kStartTimeoutMs, linesBefore);
        QVERIFY2(reverseAgain.hasMatch(), client.transcript().constData());
        QCOMPARE(reverseAgain.captured(1).toUInt(), uint(reversePort));
        QCOMPARE(exchange(reversePort, "reverse after"), QByteArray("reverse after"));
        // The local listener was never rebound: still one "forwarding" line.
        QCOMPARE(
            client.stdoutText().count(QRegularExpression(QStringLiteral("(^|\\n)forwarding "))), 1);
    }

    void wrongTokenEndsTheClient()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:127.0.0.1:9")},
                     "not-the-token");
        QCOMPARE(client.waitForExit(), 1);
        QVERIFY2(client.stderrText().contains(QLatin1String("401")),
                 client.transcript().constData());
        QVERIFY2(!client.stderrText().contains(QLatin1String("not-the-token")),
                 "the token was logged");
        QVERIFY2(!remote.stderrText().contains(QLatin1String("not-the-token")),
                 "the token was logged");
        QVERIFY(remote.isRunning());
    }

    void wrongTokenIsReportedWithWarningsOff()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        client.setEnvironment(QStringLiteral("QT_LOGGING_RULES"),
                              QStringLiteral("wstunnel.*.warning=false"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:127.0.0.1:9")},
                     "not-the-token");
        QCOMPARE(client.waitForExit(), 1);
        const QString lastLine = client.stderrText().trimmed().split(QLatin1Char('\n')).last();
        QVERIFY2(lastLine.startsWith(QLatin1String("wstunnel: ")) &&
                     lastLine.contains(QLatin1String("401")),
                 client.transcript().constData());
        QVERIFY(!client.stderrText().contains(QLatin1String("warning")));
    }

    void tokenFileOnBothSides()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString serverTokens = dir.filePath(QStringLiteral("tokens"));
        QVERIFY(writeFile(serverTokens, "# accepted tokens\nfirst-token\n\nsecond-token\n"));
        const QString clientToken = dir.filePath(QStringLiteral("token"));
        QVERIFY(writeFile(clientToken, "second-token\n"));

        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                      QStringLiteral("--token-file"), serverTokens},
                     QByteArray());
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        QVERIFY2(ready.hasMatch(), remote.transcript().constData());
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), ready.captured(1),
                      QStringLiteral("--token-file"), clientToken, QStringLiteral("-L"),
                      QStringLiteral("0:") + target(echo.serverPort())},
                     QByteArray());
        const QRegularExpressionMatch forwarding = client.waitForLine(kForwarding);
        QVERIFY2(forwarding.hasMatch(), client.transcript().constData());
        QVERIFY(waitForSession(client));
        QCOMPARE(exchange(quint16(forwarding.captured(1).toUInt()), "by file"),
                 QByteArray("by file"));
    }

    void noTokenIsACommandLineError_data()
    {
        QTest::addColumn<QString>("program");
        QTest::newRow("wstunnel") << QStringLiteral("wstunnel");
        QTest::newRow("wstunnel-remote") << QStringLiteral("wstunnel-remote");
    }

    void noTokenIsACommandLineError()
    {
        QFETCH(QString, program);
        Peer peer(program);
        if (program == QLatin1String("wstunnel"))
            peer.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                        QStringLiteral("ws://127.0.0.1:9/"), QStringLiteral("-L"),
                        QStringLiteral("0:127.0.0.1:9")},
                       QByteArray());
        else
            peer.start({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}, QByteArray());
        QCOMPARE(peer.waitForExit(), 2);
        QVERIFY2(peer.stderrText().contains(QLatin1String("token")), peer.transcript().constData());
        QVERIFY2(peer.stderrText().contains(QLatin1String("WSTUNNEL_TOKEN")),
                 peer.transcript().constData());
        QVERIFY(peer.stdoutText().isEmpty());
    }

    void localPortInUse()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"),
                      QStringLiteral("%1:127.0.0.1:9").arg(occupant.serverPort())});
        QCOMPARE(client.waitForExit(), 1);
        QVERIFY2(client.stderrText().contains(target(occupant.serverPort())),
                 client.transcript().constData());
        QVERIFY2(client.stderrText().contains(QLatin1String("in use")),
                 client.transcript().constData());
    }

    void remoteListenPortInUse()
    {
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--listen"), target(occupant.serverPort())});
        QCOMPARE(remote.waitForExit(), 1);
        QVERIFY2(remote.stderrText().contains(target(occupant.serverPort())),
                 remote.transcript().constData());
    }

    void badForwardSyntax_data()
    {
        QTest::addColumn<QString>("option");
        QTest::addColumn<QString>("spec");
        QTest::newRow("-L missing host port") << "-L"
                                              << "15432:127.0.0.1";
        QTest::newRow("-L port not a number") << "-L"
                                              << "abc:127.0.0.1:5432";
        QTest::newRow("-L port too large") << "-L"
                                           << "70000:127.0.0.1:5432";
        QTest::newRow("-L empty") << "-L"
                                  << "";
        QTest::newRow("-R missing host port") << "-R"
                                              << "9000:127.0.0.1";
        QTest::newRow("-L unknown transport") << "-L"
                                              << "5353:127.0.0.1:53/sctp";
    }

    void badForwardSyntax()
    {
        QFETCH(QString, option);
        QFETCH(QString, spec);
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                      QStringLiteral("ws://127.0.0.1:9/"), option, spec});
        QCOMPARE(client.waitForExit(), 2);
        QVERIFY2(client.stderrText().contains(option), client.transcript().constData());
        QVERIFY(client.stdoutText().isEmpty());
    }

    void unknownOptionWithoutDisplay()
    {
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--no-such-option")});
        QCOMPARE(client.waitForExit(), 2);
        QVERIFY2(client.stderrText().contains(QLatin1String("no-such-option")),
                 client.transcript().constData());
    }

    void badRemoteCommandLine_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("mentions");
        const auto list = [](std::initializer_list<const char *> items) {
            QStringList result;
            for (const char *item : items)
                result << QString::fromLatin1(item);
            return result;
        };
        QTest::newRow("unknown option") << list({"--no-such-option"}) << "no-such-option";
        QTest::newRow("listen not an address") << list({"--listen", "devbox:8080"}) << "--listen";
        QTest::newRow("bad allow rule") << list({"--allow", "127.0.0.1:notaport"}) << "notaport";
        QTest::newRow("unknown role") << list({"relay"}) << "relay";
        QTest::newRow("bad udp allow rule")
            << list({"--allow", "dns.internal/udp"}) << "dns.internal/udp";
        QTest::newRow("udp timeout zero") << list({"--udp-timeout", "0"}) << "--udp-timeout";
        QTest::newRow("max window not a size") << list({"--max-window", "big"}) << "--max-window";
        QTest::newRow("window budget not a size")
            << list({"--window-budget", "lots"}) << "--window-budget";
        QTest::newRow("process window budget beyond 2 GiB")
            << list({"--process-window-budget", "4096"}) << "--process-window-budget";
    }

    void badRemoteCommandLine()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, mentions);
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start(arguments);
        QCOMPARE(remote.waitForExit(), 2);
        QVERIFY2(remote.stderrText().contains(mentions), remote.transcript().constData());
    }

    void helpAndVersion_data()
    {
        QTest::addColumn<QString>("program");
        QTest::addColumn<QString>("option");
        for (const char *program : {"wstunnel", "wstunnel-remote"}) {
            for (const char *option : {"--help", "--version"})
                QTest::addRow("%s %s", program, option)
                    << QString::fromLatin1(program) << QString::fromLatin1(option);
        }
    }

    void helpAndVersion()
    {
        QFETCH(QString, program);
        QFETCH(QString, option);
        Peer peer(program);
        peer.start({option}, QByteArray());
        QCOMPARE(peer.waitForExit(), 0);
        const QString out = peer.stdoutText();
        if (option == QLatin1String("--version")) {
            QVERIFY2(QRegularExpression(QStringLiteral(R"(^%1 \d+\.\d+\.\d+)").arg(program))
                         .match(out)
                         .hasMatch(),
                     qPrintable(out));
        } else {
            QVERIFY2(out.contains(QLatin1String("Usage:")), qPrintable(out));
            const QString documented =
                program == QLatin1String("wstunnel")
                    ? QStringLiteral("--headless --remote --token-file -L -R")
                    : QStringLiteral("--listen --token-file --allow --config");
            for (const QString &name : documented.split(QLatin1Char(' ')))
                QVERIFY2(out.contains(name), qPrintable(name));
        }
    }

    void stopSignalEndsBothCleanly_data()
    {
        QTest::addColumn<int>("signalNumber");
        QTest::newRow("SIGTERM") << int(SIGTERM);
        QTest::newRow("SIGINT") << int(SIGINT);
    }

    void stopSignalEndsBothCleanly()
    {
        QFETCH(int, signalNumber);
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &port));
        // With a connection open through the tunnel, so that there is something to close.
        QTcpSocket open;
        open.connectToHost(QHostAddress::LocalHost, port);
        open.write("x");
        QTRY_COMPARE_WITH_TIMEOUT(open.bytesAvailable(), qint64(1), 10000);

        client.signal(signalNumber);
        QCOMPARE(client.waitForExit(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(open.state() == QAbstractSocket::UnconnectedState, 5000);
        {
            QTcpServer reuse;
            QVERIFY2(reuse.listen(QHostAddress::LocalHost, port),
                     "the stopped client still holds its port");
        }
        remote.signal(signalNumber);
        QCOMPARE(remote.waitForExit(), 0);
    }

    void sigtermStopsRemoteWithClientConnected()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &port));
        QCOMPARE(exchange(port, "ping"), QByteArray("ping"));
        remote.terminate();
        QCOMPARE(remote.waitForExit(), 0);
        client.terminate();
        QCOMPARE(client.waitForExit(), 0);
    }

    void configFileIsHonoured()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        EchoServer allowed;
        EchoServer notAllowed;
        const QString tokens = dir.filePath(QStringLiteral("tokens"));
        QVERIFY(writeFile(tokens, kToken + '\n'));
        const QString config = dir.filePath(QStringLiteral("remote.json"));
        QVERIFY(writeFile(config, QStringLiteral(R"({
            "listen": "127.0.0.1:0",
            "tokenFile": "%1",
            "allow": ["%2"],
            "path": "/tunnel"
        })")
                                      .arg(tokens, target(allowed.serverPort()))
                                      .toUtf8()));

        // No token in the environment and no options: everything comes from the file.
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--config"), config}, QByteArray());
        const QRegularExpression listening(
            QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/tunnel/?)$)"));
        const QRegularExpressionMatch ready = remote.waitForLine(listening);
        QVERIFY2(ready.hasMatch(), remote.transcript().constData());
        QVERIFY2(!remote.stderrText().contains(QLatin1String("loopback")),
                 "the allow-list of the config file was not used");

        Peer client(QStringLiteral("wstunnel"));
        quint16 allowedPort = 0;
        QVERIFY(startLocalForward(client, ready.captured(1),
                                  QStringLiteral("0:") + target(allowed.serverPort()),
                                  &allowedPort));
        QCOMPARE(exchange(allowedPort, "allowed"), QByteArray("allowed"));

        Peer second(QStringLiteral("wstunnel"));
        quint16 deniedPort = 0;
        QVERIFY(startLocalForward(second, ready.captured(1),
                                  QStringLiteral("0:") + target(notAllowed.serverPort()),
                                  &deniedPort));
        QVERIFY(exchange(deniedPort, "denied", 5000).isEmpty());
        QCOMPARE(notAllowed.connectionsAccepted(), 0);
    }

    void commandLineWinsOverConfig()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        EchoServer inConfig;
        EchoServer onCommandLine;
        QTcpServer occupant; // the config's listen address is taken: using it would fail
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        const QString config = dir.filePath(QStringLiteral("remote.json"));
        QVERIFY(
            writeFile(config, QStringLiteral(R"({"listen": "%1", "allow": ["%2"],
                                                     "path": "/from-config"})")
                                  .arg(target(occupant.serverPort()), target(inConfig.serverPort()))
                                  .toUtf8()));

        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote,
                            {QStringLiteral("--config"), config, QStringLiteral("--allow"),
                             target(onCommandLine.serverPort()), QStringLiteral("--path"),
                             QStringLiteral("/from-command-line")},
                            &url));
        QVERIFY2(url.endsWith(QLatin1String("/from-command-line/")), qPrintable(url));

        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"),
                      QStringLiteral("0:") + target(onCommandLine.serverPort()),
                      QStringLiteral("-L"), QStringLiteral("0:") + target(inConfig.serverPort())});
        QTRY_VERIFY2_WITH_TIMEOUT(client.lineCount() >= 2 || !client.isRunning(),
                                  client.transcript().constData(), kStartTimeoutMs);
        QVERIFY(waitForSession(client));
        const QStringList lines = client.stdoutText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        const quint16 commandLinePort =
            quint16(kForwarding.match(lines.at(0)).captured(1).toUInt());
        const quint16 configPort = quint16(kForwarding.match(lines.at(1)).captured(1).toUInt());
        QCOMPARE(exchange(commandLinePort, "command line"), QByteArray("command line"));
        // The command line's --allow replaces the file's list rather than adding to it.
        QVERIFY(exchange(configPort, "config", 5000).isEmpty());
        QCOMPARE(inConfig.connectionsAccepted(), 0);
    }

    void invalidConfigFile_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not JSON") << QByteArray("{ \"listen\": ") << "JSON";
        QTest::newRow("not an object") << QByteArray("[\"127.0.0.1:0\"]") << "JSON object";
        QTest::newRow("unknown setting")
            << QByteArray(R"({"listen": "127.0.0.1:0", "lisen": 1})") << "lisen";
        QTest::newRow("bad listen value") << QByteArray(R"({"listen": "nowhere:abc"})") << "listen";
        QTest::newRow("bad allow rule")
            << QByteArray(R"({"allow": ["127.0.0.1:port"]})") << "127.0.0.1:port";
    }

    void invalidConfigFile()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString config = dir.filePath(QStringLiteral("broken.json"));
        QVERIFY(writeFile(config, content));
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--config"), config});
        QCOMPARE(remote.waitForExit(), 2);
        const QString err = remote.stderrText();
        QVERIFY2(err.contains(mentions), remote.transcript().constData());
        QVERIFY(remote.stdoutText().isEmpty());
        if (QByteArray(QTest::currentDataTag()).startsWith("not") ||
            QByteArray(QTest::currentDataTag()) == "unknown setting")
            QVERIFY2(err.contains(config), "the message does not name the file");
    }

    // A setting of the wrong JSON type must be refused (exit 2 naming it) or understood, never
    // dropped silently: a dropped "allow" means the loopback default, a dropped "listen" means
    // 127.0.0.1:8080, and nothing tells the user.
    void configValueOfTheWrongTypeIsNotIgnored_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("key");
        QTest::addColumn<int>("listenPort");
        const quint16 port = unusedPort();
        QTest::newRow("listen as a number")
            << QStringLiteral(R"({"listen": %1})").arg(port).toUtf8() << "listen" << int(port);
        QTest::newRow("allow as a string")
            << QByteArray(R"({"listen": "127.0.0.1:0", "allow": "127.0.0.1:*"})") << "allow" << 0;
        QTest::newRow("allow as an object")
            << QByteArray(R"({"listen": "127.0.0.1:0", "allow": {"127.0.0.1": "*"}})") << "allow"
            << 0;
    }

    void configValueOfTheWrongTypeIsNotIgnored()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, key);
        QFETCH(int, listenPort);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString config = dir.filePath(QStringLiteral("typed.json"));
        QVERIFY(writeFile(config, content));
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.start({QStringLiteral("--config"), config});
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        if (!ready.hasMatch()) {
            QCOMPARE(remote.waitForExit(), 2);
            QVERIFY2(remote.stderrText().contains(key), remote.transcript().constData());
            return;
        }
        // Still running: then the setting must have been understood.
        if (listenPort != 0)
            QVERIFY2(ready.captured(2).toInt() == listenPort, remote.transcript().constData());
        if (key == QLatin1String("allow"))
            QVERIFY2(!remote.stderrText().contains(QLatin1String("no --allow given")),
                     remote.transcript().constData());
    }

    void missingConfigFile()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        const QString config = QStringLiteral("/nonexistent/wstunnel-remote.json");
        remote.start({QStringLiteral("--config"), config});
        QCOMPARE(remote.waitForExit(), 2);
        QVERIFY2(remote.stderrText().contains(config), remote.transcript().constData());
    }

    void defaultAllowListWarns()
    {
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        QVERIFY2(remote.waitForStderr(QStringLiteral("loopback")), remote.transcript().constData());
        QVERIFY(remote.stderrText().contains(QLatin1String("--allow")));

        Peer explicitRemote(QStringLiteral("wstunnel-remote"));
        QVERIFY(startRemote(explicitRemote,
                            {QStringLiteral("--allow"), QStringLiteral("127.0.0.1:*")}, &url));
        QVERIFY2(!explicitRemote.stderrText().contains(QLatin1String("loopback")),
                 explicitRemote.transcript().constData());
    }

    void disallowedTargetClosesTheConnection()
    {
        EchoServer allowed;
        EchoServer forbidden;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(
            startRemote(remote, {QStringLiteral("--allow"), target(allowed.serverPort())}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url,
                                  QStringLiteral("0:") + target(forbidden.serverPort()), &port));

        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::ConnectedState ||
                                     socket.state() == QAbstractSocket::UnconnectedState,
                                 5000);
        QElapsedTimer closing;
        closing.start();
        socket.write("is anyone there?");
        // Closed promptly, without a byte of answer; the issue promises within a second, a
        // loaded machine gets some slack.
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
        QVERIFY2(closing.elapsed() < 2000, qPrintable(QString::number(closing.elapsed())));
        QCOMPARE(socket.readAll(), QByteArray());
        QCOMPARE(forbidden.connectionsAccepted(), 0);

        // Both sides say why.
        const QString denied = target(forbidden.serverPort());
        QTRY_VERIFY2_WITH_TIMEOUT(remote.stderrText().contains(denied) &&
                                      remote.stderrText().contains(QLatin1String("allow-list")),
                                  remote.transcript().constData(), 5000);
        QTRY_VERIFY2_WITH_TIMEOUT(client.stderrText().contains(denied) &&
                                      client.stderrText().contains(QLatin1String("allow-list")),
                                  client.transcript().constData(), 5000);
        // The session itself is fine: an allowed forward on the same remote still works.
        Peer other(QStringLiteral("wstunnel"));
        quint16 allowedPort = 0;
        QVERIFY(startLocalForward(other, url, QStringLiteral("0:") + target(allowed.serverPort()),
                                  &allowedPort));
        QCOMPARE(exchange(allowedPort, "fine"), QByteArray("fine"));
        QVERIFY(client.isRunning());
        QVERIFY(remote.isRunning());
    }

    void refusedTargetClosesTheConnection()
    {
        const quint16 closedPort = unusedPort();
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(closedPort), &port));
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QElapsedTimer closing;
        closing.start();
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
        QVERIFY2(closing.elapsed() < 2000, qPrintable(QString::number(closing.elapsed())));
        QTRY_VERIFY2_WITH_TIMEOUT(remote.stderrText().contains(target(closedPort)),
                                  remote.transcript().constData(), 5000);
        QVERIFY(client.isRunning());
    }

    void udpTimeoutIsChecked()
    {
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"),
                      QStringLiteral("ws://127.0.0.1:9/"), QStringLiteral("-L"),
                      QStringLiteral("5353:127.0.0.1:53/udp"), QStringLiteral("--udp-timeout"),
                      QStringLiteral("soon")});
        QCOMPARE(client.waitForExit(), 2);
        QVERIFY2(client.stderrText().contains(QLatin1String("--udp-timeout")),
                 client.transcript().constData());
    }

    void udpForwardAndIdleExpiry_data()
    {
        QTest::addColumn<bool>("remoteExpires");
        QTest::newRow("the remote's --udp-timeout") << true;
        QTest::newRow("the desktop's --udp-timeout") << false;
    }

    // -L …/udp prints its readiness line with the suffix and carries datagrams; the end with the
    // short --udp-timeout ends the idle flow on both, as an orderly end.
    void udpForwardAndIdleExpiry()
    {
        QFETCH(bool, remoteExpires);
        const QString shortTimeout = QStringLiteral("0.5");
        const QString longTimeout = QStringLiteral("60");
        UdpEchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(
            remote, {QStringLiteral("--udp-timeout"), remoteExpires ? shortTimeout : longTimeout},
            &url));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:%1/udp").arg(target(echo.port())),
                      QStringLiteral("--udp-timeout"), remoteExpires ? longTimeout : shortTimeout});
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        QVERIFY2(ready.hasMatch(), client.transcript().constData());
        QCOMPARE(ready.captured(2), QStringLiteral("%1/udp").arg(target(echo.port())));
        QVERIFY(waitForSession(client));
        const quint16 port = quint16(ready.captured(1).toUInt());

        QUdpSocket socket;
        QVERIFY(socket.bind(QHostAddress::LocalHost, 0));
        socket.writeDatagram("ping", QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.hasPendingDatagrams(), 10000);
        QCOMPARE(socket.receiveDatagram().data(), QByteArray("ping"));

        const QString ended = QStringLiteral("/udp closed: ");
        QTRY_VERIFY2_WITH_TIMEOUT(client.stderrText().contains(ended),
                                  client.transcript().constData(), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(remote.stderrText().contains(ended),
                                  remote.transcript().constData(), 10000);
        QVERIFY(client.isRunning());
        // A new datagram from the same source starts a new flow.
        socket.writeDatagram("again", QHostAddress::LocalHost, port);
        QTRY_VERIFY_WITH_TIMEOUT(socket.hasPendingDatagrams(), 10000);
        QCOMPARE(socket.receiveDatagram().data(), QByteArray("again"));
    }
};

QTEST_GUILESS_MAIN(BinariesTest)
#include "tst_binaries.moc"
