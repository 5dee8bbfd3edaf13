// The binaries started with a low open-file limit (as `ulimit -n` in a shell would set it), and
// floods of connections that would exhaust it: every connection is served or refused, none
// hangs, no core spins, and a desktop still gets in.
#include "EchoServer.h"
#include "Peer.h"

#include "client/TunnelClient.h"
#include "util/DescriptorLimit.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSslCertificate>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <memory>
#include <vector>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wstunnel;

namespace {

const QRegularExpression
    kListening(QStringLiteral(R"(^listening on (wss?://127\.0\.0\.1:(\d+)/\S*)$)"));
// wstunnel-remote's default cap on the upgrade requests one address may have open at once.
constexpr int kMaxHalfOpenPerSource = 16;
const QRegularExpression kForwarding(QStringLiteral(R"(^forwarding 127\.0\.0\.1:(\d+) -> (\S+)$)"));

// CPU time (user and system) a process has used so far, in milliseconds, from /proc/PID/stat.
qint64 cpuMsOf(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = stat.readAll();
    // The command name in parentheses may hold spaces; the fields after it do not.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5), counted from the state (field 3) here.
    const qint64 ticks = fields.value(11).toLongLong() + fields.value(12).toLongLong();
    return ticks * 1000 / ::sysconf(_SC_CLK_TCK);
}

// One local connection offered to a forward: it says "ping" and is served once the echo comes
// back, refused once it closes without one.
struct Offer
{
    std::unique_ptr<QTcpSocket> socket = std::make_unique<QTcpSocket>();
    QByteArray answer;

    void start(quint16 port)
    {
        QTcpSocket *raw = socket.get();
        QObject::connect(raw, &QTcpSocket::connected, raw, [raw] { raw->write("ping"); });
        QObject::connect(raw, &QTcpSocket::readyRead, raw,
                         [this, raw] { answer += raw->readAll(); });
        raw->connectToHost(QHostAddress::LocalHost, port);
    }
    bool served() const { return answer == "ping"; }
    bool refused() const
    {
        return !served() && socket->state() == QAbstractSocket::UnconnectedState;
    }
};

std::vector<Offer> offer(int count, quint16 port)
{
    std::vector<Offer> offers(count);
    for (Offer &each : offers)
        each.start(port);
    return offers;
}

bool allDecided(const std::vector<Offer> &offers, int *served = nullptr)
{
    int decided = 0;
    int servedCount = 0;
    for (const Offer &each : offers) {
        servedCount += each.served() ? 1 : 0;
        decided += each.served() || each.refused() ? 1 : 0;
    }
    if (served)
        *served = servedCount;
    return decided == int(offers.size());
}

// Connections from this address that send nothing (or only firstBytes) and stay open as long as
// the remote lets them. Plain descriptors rather than QTcpSockets: the desktop of the test shares
// this process's event loop, which a thousand watched sockets would slow down as no real desktop
// is slowed.
class HalfOpenFlood
{
public:
    HalfOpenFlood(quint16 port, int count, const QByteArray &firstBytes)
        : m_firstBytes(firstBytes)
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 0; i < count; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
            m_connecting.push_back(pollfd{fd, POLLOUT, 0});
        }
    }
    ~HalfOpenFlood()
    {
        for (const std::vector<pollfd> *fds : {&m_connecting, &m_open})
            for (const pollfd &each : *fds)
                ::close(each.fd);
    }
    HalfOpenFlood(const HalfOpenFlood &) = delete;
    HalfOpenFlood &operator=(const HalfOpenFlood &) = delete;

    // Whether, in time, every connection was established (and said its first bytes) or refused,
    // and the remote closed all of them but at most keptOpen: it has taken in the whole flood and
    // holds what it holds of it.
    bool waitUntilHeld(int keptOpen, int timeoutMs)
    {
        QElapsedTimer elapsed;
        elapsed.start();
        while ((!m_connecting.empty() || int(m_open.size()) > keptOpen) &&
               elapsed.elapsed() < timeoutMs) {
            std::vector<pollfd> all = m_connecting;
            all.insert(all.end(), m_open.begin(), m_open.end());
            if (::poll(all.data(), all.size(), 100) <= 0)
                continue;
            m_connecting.clear();
            m_open.clear();
            for (pollfd &each : all) {
                const bool connecting = each.events == POLLOUT;
                if (each.revents == 0)
                    (connecting ? m_connecting : m_open).push_back(each);
                else if (connecting)
                    established(each);
                else if (!closedByPeer(each.fd))
                    m_open.push_back(each);
            }
        }
        return m_connecting.empty() && int(m_open.size()) <= keptOpen;
    }

private:
    void established(pollfd each)
    {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(each.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            ::close(each.fd);
            return;
        }
        if (!m_firstBytes.isEmpty())
            (void)::send(each.fd, m_firstBytes.constData(), size_t(m_firstBytes.size()),
                         MSG_NOSIGNAL);
        m_open.push_back(pollfd{each.fd, POLLIN | POLLRDHUP, 0});
    }
    static bool closedByPeer(int fd)
    {
        char buffer[256];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return false;
        ::close(fd);
        return true;
    }

    QByteArray m_firstBytes;
    std::vector<pollfd> m_connecting;
    std::vector<pollfd> m_open;
};

} // namespace

class DescriptorLimitTest : public QObject
{
    Q_OBJECT

private:
    bool startRemote(Peer &remote, QString *url, quint16 *port, const QStringList &extra = {})
    {
        remote.start(QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")} +
                     extra);
        const QRegularExpressionMatch ready = remote.waitForLine(kListening);
        if (!ready.hasMatch()) {
            qWarning("%s", remote.transcript().constData());
            return false;
        }
        *url = ready.captured(1);
        *port = quint16(ready.captured(2).toUInt());
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(!qEnvironmentVariableIsEmpty("WSTUNNEL_BIN_DIR"),
                 "WSTUNNEL_BIN_DIR must name the directory holding the binaries");
        // This process holds both ends of every connection it offers.
        QVERIFY(DescriptorLimit::raiseToHardLimit() >= 4096);
    }

    // wstunnel under `ulimit -n 256` with 600 local connections held open at once: those it
    // has descriptors for are served, the others refused at once, and it idles meanwhile.
    void connectionsBeyondTheLimitAreServedOrRefused()
    {
        EchoServer echo;
        Peer remote(QStringLiteral("wstunnel-remote"));
        QString url;
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, &url, &remotePort));
        Peer client(QStringLiteral("wstunnel"));
        client.setDescriptorLimit(256);
        client.start({QStringLiteral("--headless"), QStringLiteral("--remote"), url,
                      QStringLiteral("-L"),
                      QStringLiteral("0:127.0.0.1:%1").arg(echo.serverPort())});
        const QRegularExpressionMatch ready = client.waitForLine(kForwarding);
        QVERIFY2(ready.hasMatch(), client.transcript().constData());
        const quint16 port = quint16(ready.captured(1).toUInt());

        std::vector<Offer> first = offer(600, port);
        int served = 0;
        QTRY_VERIFY2_WITH_TIMEOUT(allDecided(first, &served), client.transcript().constData(),
                                  30000);
        QVERIFY2(served >= 100, qPrintable(QString::number(served)));
        QVERIFY2(served < 256, qPrintable(QString::number(served)));

        // Out of descriptors and offered more: each is refused, and the client stays idle.
        const qint64 cpuBefore = cpuMsOf(client.processId());
        QElapsedTimer window;
        window.start();
        std::vector<Offer> second = offer(200, port);
        QTRY_VERIFY_WITH_TIMEOUT(allDecided(second, &served), 30000);
        QCOMPARE(served, 0);
        // A measuring window, not a synchronisation: a spinning accept loop would show here.
        QTest::qWait(1000);
        const qint64 cpuUsed = cpuMsOf(client.processId()) - cpuBefore;
        QVERIFY2(
            cpuUsed * 2 < window.elapsed(),
            qPrintable(QStringLiteral("%1 ms of CPU in %2 ms").arg(cpuUsed).arg(window.elapsed())));
        QCOMPARE(client.stderrText().count(QLatin1String("out of file descriptors (limit 256)")),
                 1);

        // Descriptors back once the client has closed what this side closed: the forward serves
        // again.
        first.clear();
        second.clear();
        const auto twentyServed = [port] {
            std::vector<Offer> probe = offer(20, port);
            int probeServed = 0;
            return QTest::qWaitFor([&] { return allDecided(probe, &probeServed); }, 10000) &&
                   probeServed == 20;
        };
        QVERIFY(QTest::qWaitFor(twentyServed, 30000));
        QVERIFY2(client.isRunning(), client.transcript().constData());
    }

    void halfOpenFloodDoesNotKeepADesktopOut_data()
    {
        QTest::addColumn<bool>("tls");
        QTest::newRow("ws") << false;
        QTest::newRow("wss") << true;
    }

    // wstunnel-remote under `ulimit -n 1024`, 1,100 connections from one address that never send
    // their upgrade request (over TLS: that never finish their handshake): a desktop from the same
    // address still connects within a second.
    void halfOpenFloodDoesNotKeepADesktopOut()
    {
        QFETCH(bool, tls);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QStringList tlsOptions;
        QByteArray fingerprint;
        if (tls) {
            const QString certFile = dir.filePath(QStringLiteral("server.pem"));
            const QString keyFile = dir.filePath(QStringLiteral("server.key"));
            QProcess openssl;
            openssl.start(QStringLiteral("openssl"),
                          {QStringLiteral("req"), QStringLiteral("-x509"),
                           QStringLiteral("-newkey"), QStringLiteral("ec"),
                           QStringLiteral("-pkeyopt"),
                           QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                           QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                           QStringLiteral("/CN=wstunnel flood test"), QStringLiteral("-keyout"),
                           keyFile, QStringLiteral("-out"), certFile});
            QVERIFY2(openssl.waitForFinished(30000) && openssl.exitCode() == 0,
                     openssl.readAllStandardError().constData());
            const QList<QSslCertificate> certificates = QSslCertificate::fromPath(certFile);
            QCOMPARE(certificates.size(), 1);
            fingerprint = certificates.first().digest(QCryptographicHash::Sha256).toHex();
            tlsOptions = {QStringLiteral("--tls-cert"), certFile, QStringLiteral("--tls-key"),
                          keyFile};
        }
        Peer remote(QStringLiteral("wstunnel-remote"));
        remote.setDescriptorLimit(1024);
        QString url;
        quint16 remotePort = 0;
        QVERIFY(startRemote(remote, &url, &remotePort, tlsOptions));

        // The first bytes of a TLS record, and nothing more: a handshake under way.
        HalfOpenFlood flood(remotePort, 1100, tls ? QByteArray("\x16\x03\x01") : QByteArray());
        // Once the remote has taken in the burst (how fast depends on the machine and the build,
        // not on what is tested), the requests it holds must not keep the desktop out.
        QVERIFY2(flood.waitUntilHeld(kMaxHalfOpenPerSource, 30000),
                 "the remote did not close the oldest of the flood");

        ClientSettings settings;
        settings.url = QUrl(url);
        settings.token = kToken;
        settings.trustedCertificateSha256 = fingerprint;
        TunnelClient desktop(settings);
        QElapsedTimer elapsed;
        elapsed.start();
        desktop.start();
        QTRY_COMPARE_WITH_TIMEOUT(desktop.state(), TunnelClient::State::Connected, 15000);
        qInfo("the desktop got in after %lld ms", elapsed.elapsed());
        QVERIFY2(elapsed.elapsed() < 1000,
                 qPrintable(QStringLiteral("the desktop waited %1 ms").arg(elapsed.elapsed())));
        QCOMPARE(remote.stderrText().count(QLatin1String("keeps more than 16 upgrade requests")),
                 1);
        QVERIFY2(remote.isRunning(), remote.transcript().constData());
    }
};

QTEST_GUILESS_MAIN(DescriptorLimitTest)
#include "tst_descriptorlimit.moc"
