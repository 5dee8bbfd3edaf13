// The command lines of both binaries as a user at a terminal meets them: help, mistakes and how
// they are reported (exit code and the last line on stderr), what -L '*' binds, and what the log
// lines say about channels. The binaries run as QProcesses without a display, as on a server.

#include "EchoServer.h"
#include "Exchange.h"
#include "Peer.h"
#include "UdpEchoServer.h"

#include <QNetworkDatagram>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QUdpSocket>

#include <sys/socket.h>

namespace {

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (ws://127\.0\.0\.1:(\d+)/\S*)$)"));
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding (\S+):(\d+) -> (\S+)$)"));
const QRegularExpression
    kReverse(QStringLiteral(R"(^reverse forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));

QString target(quint16 port)
{
    return QStringLiteral("127.0.0.1:%1").arg(port);
}

QString lastLine(const QString &text)
{
    return text.trimmed().split(QLatin1Char('\n')).last();
}

} // namespace

class CommandLineTest : public QObject
{
    Q_OBJECT

private:
    bool startRemote(Peer &remote, QStringList arguments, QString *url)
    {
        remote.start(QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")} +
                     arguments);
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        if (!ready.hasMatch()) {
            qWarning("%s", remote.transcript().constData());
            return false;
        }
        *url = ready.captured(1);
        return true;
    }

    bool waitForSession(Peer &client)
    {
        const bool up = QTest::qWaitFor(
            [&] {
                return client.stderrText().contains(QLatin1String("connected to ")) ||
                       !client.isRunning();
            },
            kStartTimeoutMs);
        if (!up || !client.isRunning()) {
            qWarning("%s", client.transcript().constData());
            return false;
        }
        return true;
    }

    // Starts wstunnel --headless with one -L and returns the port of its readiness line once the
    // session is up.
    bool startLocalForward(Peer &client, const QString &url, const QString &spec, quint16 *port,
                           const QStringList &extra = {}, QString *bind = nullptr)
    {
        client.start(QStringList{QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                                 QStringLiteral("-L"), spec} +
                     extra);
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        if (!ready.hasMatch()) {
            qWarning("%s", client.transcript().constData());
            return false;
        }
        *port = quint16(ready.captured(2).toUInt());
        if (bind)
            *bind = ready.captured(1);
        return waitForSession(client);
    }

private Q_SLOTS:
    void helpAllWorks_data()
    {
        QTest::addColumn<QString>("program");
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("documented");
        QTest::newRow("wstunnel") << "wstunnel" << QStringList{QStringLiteral("--help-all")}
                                  << "--headless";
        QTest::newRow("wstunnel-remote")
            << "wstunnel-remote" << QStringList{QStringLiteral("--help-all")} << "--allow";
        QTest::newRow("wstunnel-remote agent")
            << "wstunnel-remote"
            << QStringList{QStringLiteral("agent"), QStringLiteral("--help-all")} << "--hub";
    }

    // --help offers --help-all; it must print the help, not complain about what is missing.
    void helpAllWorks()
    {
        QFETCH(QString, program);
        QFETCH(QStringList, arguments);
        QFETCH(QString, documented);
        Peer peer(program);
        peer.start(arguments, QByteArray());
        QCOMPARE(peer.waitForExit(), 0);
        const QString out = peer.stdoutText();
        QVERIFY2(out.contains(QLatin1String("Usage:")) && out.contains(documented) &&
                     out.contains(QLatin1String("--help-all")),
                 peer.transcript().constData());
        QVERIFY2(peer.stderrText().isEmpty(), peer.transcript().constData());
    }

    void forwardsNeedHeadless_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("named");
        QTest::newRow("--remote and -L")
            << QStringList{QStringLiteral("--remote"), QStringLiteral("ws://127.0.0.1:9/"),
                           QStringLiteral("-L"), QStringLiteral("0:127.0.0.1:9")}
            << "--remote";
        QTest::newRow("-L alone") << QStringList{QStringLiteral("-L"),
                                                 QStringLiteral("0:127.0.0.1:9")}
                                  << "-L";
        QTest::newRow("-R alone") << QStringList{QStringLiteral("-R"),
                                                 QStringLiteral("0:127.0.0.1:9")}
                                  << "-R";
        QTest::newRow("--profile")
            << QStringList{QStringLiteral("--profile"), QStringLiteral("/tmp/profile.json")}
            << "--profile";
    }

    // Without --headless the mapping editor would open and drop the forwards without a word.
    void forwardsNeedHeadless()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, named);
        Peer client(QStringLiteral("wstunnel"));
        client.start(arguments);
        QCOMPARE(client.waitForExit(), 2);
        const QString last = lastLine(client.stderrText());
        QVERIFY2(last.startsWith(QLatin1String("wstunnel: ") + named) &&
                     last.contains(QLatin1String("add --headless")),
                 client.transcript().constData());
        QVERIFY(client.stdoutText().isEmpty());
    }

    void noDisplayGivesAHint_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::newRow("no arguments") << QStringList();
        QTest::newRow("--minimized") << QStringList{QStringLiteral("--minimized")};
    }

    // Peer starts the binaries without DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM.
    void noDisplayGivesAHint()
    {
        QFETCH(QStringList, arguments);
        Peer client(QStringLiteral("wstunnel"));
        client.start(arguments);
        QCOMPARE(client.waitForExit(), 2);
        const QString err = client.stderrText().trimmed();
        QVERIFY2(!err.contains(QLatin1Char('\n')), "more than one line");
#ifdef WSTUNNEL_WITH_GUI
        const QLatin1String hint("wstunnel: no display");
#else
        const QLatin1String hint("wstunnel: this build has no desktop interface");
#endif
        QVERIFY2(err.startsWith(hint) && err.contains(QLatin1String("--headless")),
                 client.transcript().constData());
    }

    // The remote's reason, not only "HTTP 503", reaches a desktop over its session limit.
    void sessionLimitReasonReachesTheDesktop()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {QStringLiteral("--max-sessions"), QStringLiteral("1")}, &url));
        Peer first(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(
            startLocalForward(first, url, QStringLiteral("0:") + target(echo.serverPort()), &port));
        Peer second(QStringLiteral("wstunnel"));
        second.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"), QStringLiteral("0:") + target(echo.serverPort())});
        QVERIFY2(second.waitForStderr(
                     QStringLiteral("HTTP 503 from %1: session limit of 1 reached").arg(url)),
                 second.transcript().constData());
        // Not final: the desktop keeps trying, as for any refusal that may pass.
        QVERIFY(second.isRunning());
    }

    void allInterfacesMeansIPv4AndIPv6_data()
    {
        QTest::addColumn<bool>("udp");
        QTest::newRow("tcp") << false;
        QTest::newRow("udp") << true;
    }

    void allInterfacesMeansIPv4AndIPv6()
    {
        QFETCH(bool, udp);
        EchoServer echo;
        UdpEchoServer udpEcho;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QString bind;
        const QString spec = udp ? QStringLiteral("*:0:%1/udp").arg(target(udpEcho.port()))
                                 : QStringLiteral("*:0:") + target(echo.serverPort());
        QVERIFY(startLocalForward(client, url, spec, &port, {}, &bind));
        QCOMPARE(bind, QStringLiteral("*"));

        for (const QHostAddress &address :
             {QHostAddress(QHostAddress::LocalHost), QHostAddress(QHostAddress::LocalHostIPv6)}) {
            const QByteArray request = "from " + address.toString().toLatin1();
            if (!udp) {
                QCOMPARE(exchange(port, request, 10000, address), request);
                continue;
            }
            QUdpSocket socket;
            QVERIFY(socket.bind(address, 0));
            socket.writeDatagram(request, address, port);
            QTRY_VERIFY2_WITH_TIMEOUT(socket.hasPendingDatagrams(), client.transcript().constData(),
                                      10000);
            QCOMPARE(socket.receiveDatagram().data(), request);
        }
    }

    // A reverse forward's channels lead to a target on this computer; the laptop's log lines say
    // which, not the port the remote listens on.
    void reverseForwardLogLinesNameTheLocalTarget()
    {
        EchoServer desktopService;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));
        Peer client(QStringLiteral("wstunnel"));
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-R"),
                      QStringLiteral("0:") + target(desktopService.serverPort())});
        const QRegularExpressionMatch ready = client.waitForLine(kReverse);
        QVERIFY2(ready.hasMatch(), client.transcript().constData());
        const quint16 remotePort = quint16(ready.captured(1).toUInt());
        QCOMPARE(exchange(remotePort, "reverse"), QByteArray("reverse"));

        const QRegularExpression closed(
            QStringLiteral(R"(channel \d+ 127\.0\.0\.1:%1 on the remote -> %2 closed: in 7 B, )"
                           R"(out 7 B)")
                .arg(remotePort)
                .arg(QRegularExpression::escape(target(desktopService.serverPort()))));
        QTRY_VERIFY2_WITH_TIMEOUT(closed.match(client.stderrText()).hasMatch(),
                                  client.transcript().constData(), 10000);
        QVERIFY2(!client.stderrText().contains(QStringLiteral("-> %1").arg(target(remotePort))),
                 client.transcript().constData());
    }

    // --verbose: the steps of each channel, with targets, reasons and byte counts.
    void verboseShowsEachChannel()
    {
        EchoServer echo;
        QTcpServer refusing; // bound, then closed: nothing listens on its port
        QVERIFY(refusing.listen(QHostAddress::LocalHost, 0));
        const quint16 closedPort = refusing.serverPort();
        refusing.close();
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {QStringLiteral("--verbose")}, &url));
        Peer client(QStringLiteral("wstunnel"));
        quint16 port = 0;
        QVERIFY(startLocalForward(client, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &port, {QStringLiteral("--verbose")}));
        QCOMPARE(exchange(port, "verbose"), QByteArray("verbose"));

        const QString echoTarget = target(echo.serverPort());
        for (const QString &step :
             {QStringLiteral("-> %1: opening").arg(echoTarget),
              QStringLiteral("-> %1: open-ok from the peer").arg(echoTarget),
              QStringLiteral("-> %1: fin from ").arg(echoTarget),
              QStringLiteral("-> %1: fin from the peer after 7 B").arg(echoTarget),
              QStringLiteral("-> %1 closed: in 7 B, out 7 B").arg(echoTarget)}) {
            QTRY_VERIFY2_WITH_TIMEOUT(
                client.stderrText().contains(step),
                qPrintable(step + QLatin1Char('\n') + QString::fromUtf8(client.transcript())),
                10000);
        }
        QVERIFY2(
            remote.stderrText().contains(QStringLiteral("-> %1: connecting to 127.0.0.1 port %2")
                                             .arg(echoTarget)
                                             .arg(echo.serverPort())),
            remote.transcript().constData());

        // A failed open says why on both ends.
        Peer refused(QStringLiteral("wstunnel"));
        quint16 refusedPort = 0;
        QVERIFY(startLocalForward(refused, url, QStringLiteral("0:") + target(closedPort),
                                  &refusedPort, {QStringLiteral("--verbose")}));
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, refusedPort);
        QTRY_VERIFY2_WITH_TIMEOUT(
            refused.stderrText().contains(QStringLiteral("-> %1: open failed at the peer "
                                                         "(connection refused)")
                                              .arg(target(closedPort))),
            refused.transcript().constData(), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(
            remote.stderrText().contains(
                QStringLiteral("-> %1: open failed (connection refused)").arg(target(closedPort))),
            remote.transcript().constData(), 10000);

        // A connection reset by its application resets the channel, and the far end says so.
        QTcpSocket resetting;
        resetting.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(resetting.waitForConnected(5000));
        resetting.write("bye");
        QTRY_COMPARE_WITH_TIMEOUT(resetting.bytesAvailable(), qint64(3), 10000);
        const linger abortive{1, 0}; // close() sends RST instead of FIN
        QCOMPARE(::setsockopt(int(resetting.socketDescriptor()), SOL_SOCKET, SO_LINGER, &abortive,
                              sizeof abortive),
                 0);
        resetting.abort();
        QTRY_VERIFY2_WITH_TIMEOUT(client.stderrText().contains(QLatin1String(": resetting (")),
                                  client.transcript().constData(), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(
            remote.stderrText().contains(QLatin1String(": reset by the peer (")),
            remote.transcript().constData(), 10000);

        // Without --verbose, none of it.
        Peer quiet(QStringLiteral("wstunnel"));
        quint16 quietPort = 0;
        QVERIFY(startLocalForward(quiet, url, QStringLiteral("0:") + target(echo.serverPort()),
                                  &quietPort));
        QCOMPARE(exchange(quietPort, "quiet"), QByteArray("quiet"));
        QTRY_VERIFY_WITH_TIMEOUT(quiet.stderrText().contains(QLatin1String("closed: in 5 B")),
                                 10000);
        QVERIFY2(!quiet.stderrText().contains(QLatin1String(": opening")),
                 quiet.transcript().constData());
    }

    void lastLineIsTheReason_data()
    {
        QTest::addColumn<QString>("program");
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("reason");
        const QString noRemote = QStringLiteral("ws://127.0.0.1:9/");
        QTest::newRow("wstunnel unknown option")
            << "wstunnel" << QStringList{QStringLiteral("--headless"), QStringLiteral("--nope")}
            << 2 << "wstunnel: Unknown option 'nope'.";
        QTest::newRow("wstunnel without --remote")
            << "wstunnel" << QStringList{QStringLiteral("--headless")} << 2
            << "wstunnel: --headless needs --remote URL";
        QTest::newRow("wstunnel bad -L")
            << "wstunnel"
            << QStringList{QStringLiteral("--headless"), QStringLiteral("--remote"), noRemote,
                           QStringLiteral("-L"), QStringLiteral("abc")}
            << 2 << "wstunnel: -L 'abc'";
        QTest::newRow("wstunnel unreadable profile")
            << "wstunnel"
            << QStringList{QStringLiteral("--headless"), QStringLiteral("--profile"),
                           QStringLiteral("/nonexistent/profile.json")}
            << 2 << "wstunnel: ";
        QTest::newRow("wstunnel-remote unknown option")
            << "wstunnel-remote" << QStringList{QStringLiteral("--nope")} << 2
            << "wstunnel-remote: Unknown option 'nope'.";
        QTest::newRow("wstunnel-remote unknown role")
            << "wstunnel-remote" << QStringList{QStringLiteral("relay")} << 2
            << "wstunnel-remote: ";
        QTest::newRow("wstunnel-remote agent without --name")
            << "wstunnel-remote"
            << QStringList{QStringLiteral("agent"), QStringLiteral("--hub"), noRemote} << 2
            << "wstunnel-remote: an agent needs --name NAME";
    }

    // README: for every non-zero exit, the last line on stderr starts with the binary's name and
    // gives the reason; a hint where to read more may follow on that line, never after it.
    void lastLineIsTheReason()
    {
        QFETCH(QString, program);
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, reason);
        Peer peer(program);
        peer.start(arguments);
        QCOMPARE(peer.waitForExit(), exitCode);
        const QString last = lastLine(peer.stderrText());
        QVERIFY2(last.startsWith(reason), peer.transcript().constData());
        // Mistakes in the options point to the help; a profile that cannot be read does not.
        if (!QByteArray(QTest::currentDataTag()).contains("profile"))
            QVERIFY2(last.endsWith(QLatin1String("--help')")), peer.transcript().constData());
    }

    void lastLineIsTheReasonAtRuntime()
    {
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        const QString busy = target(occupant.serverPort());

        Peer busyRemote(QStringLiteral("wstunnel-remote"));
        busyRemote.start({QStringLiteral("--listen"), busy});
        QCOMPARE(busyRemote.waitForExit(), 1);
        QVERIFY2(lastLine(busyRemote.stderrText()).startsWith(QLatin1String("wstunnel-remote: ")) &&
                     lastLine(busyRemote.stderrText()).contains(busy),
                 busyRemote.transcript().constData());

        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        QVERIFY(startRemote(remote, {}, &url));

        Peer busyClient(QStringLiteral("wstunnel"));
        busyClient.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                          QStringLiteral("-L"), QStringLiteral("0:127.0.0.1:9"),
                          QStringLiteral("-L"), busy + QStringLiteral(":127.0.0.1:9")});
        QCOMPARE(busyClient.waitForExit(), 1);
        QVERIFY2(lastLine(busyClient.stderrText()).startsWith(QLatin1String("wstunnel: ")) &&
                     lastLine(busyClient.stderrText()).contains(QLatin1String("in use")),
                 busyClient.transcript().constData());

        // A refusal that is final.
        Peer refused(QStringLiteral("wstunnel"));
        refused.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                       QStringLiteral("-L"), QStringLiteral("0:127.0.0.1:9")},
                      "not-the-token");
        QCOMPARE(refused.waitForExit(), 1);
        QVERIFY2(lastLine(refused.stderrText()).startsWith(QLatin1String("wstunnel: ")) &&
                     lastLine(refused.stderrText()).contains(QLatin1String("401")),
                 refused.transcript().constData());

        // An agent whose only "hub" is a plain remote gives up for good.
        Peer agent(QStringLiteral("wstunnel-remote"));
        agent.start({QStringLiteral("agent"), QStringLiteral("--hub"), url,
                     QStringLiteral("--name"), QStringLiteral("devbox")});
        QCOMPARE(agent.waitForExit(), 1);
        QVERIFY2(lastLine(agent.stderrText()).startsWith(QLatin1String("wstunnel-remote: ")) &&
                     lastLine(agent.stderrText()).contains(QLatin1String("hub")),
                 agent.transcript().constData());
    }
};

QTEST_GUILESS_MAIN(CommandLineTest)
#include "tst_commandline.moc"
