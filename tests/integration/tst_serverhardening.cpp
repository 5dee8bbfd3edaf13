#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "server/TunnelServer.h"

#include <QMutex>
#include <QMutexLocker>
#include <QTcpSocket>
#include <QTest>

#include <memory>
#include <tuple>

using namespace wstunnel;

namespace {

constexpr const char *kToken = "hardening-token";

// Collects what the server logs, so a test can count the lines about one peer.
class LogCapture
{
public:
    LogCapture()
        : m_previous(qInstallMessageHandler(&LogCapture::handle))
    {
        s_current = this;
    }
    ~LogCapture()
    {
        qInstallMessageHandler(m_previous);
        s_current = nullptr;
    }

    QStringList linesContaining(const QString &text) const
    {
        QMutexLocker locker(&m_mutex);
        QStringList found;
        for (const QString &line : m_lines) {
            if (line.contains(text))
                found.append(line);
        }
        return found;
    }

private:
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        if (s_current) {
            QMutexLocker locker(&s_current->m_mutex);
            s_current->m_lines.append(message);
        }
        if (type == QtFatalMsg)
            abort();
        Q_UNUSED(context)
    }

    static inline LogCapture *s_current = nullptr;
    QtMessageHandler m_previous;
    mutable QMutex m_mutex;
    QStringList m_lines;
};

std::unique_ptr<TunnelServer> startServer(ServerSettings settings = {})
{
    TokenStore tokens;
    tokens.add(kToken);
    AllowList allowList;
    allowList.addLoopbackDefaults();
    auto server = std::make_unique<TunnelServer>(settings, tokens, allowList);
    QString error;
    if (!server->listen(&error))
        qWarning("%s", qPrintable(error));
    return server;
}

// Connects from `from` and sends head; the socket stays open for as long as the server lets it.
std::unique_ptr<QTcpSocket> sendRequest(quint16 port, const QByteArray &head,
                                        const QHostAddress &from = QHostAddress::LocalHost)
{
    auto socket = std::make_unique<QTcpSocket>();
    socket->bind(from);
    socket->connectToHost(QHostAddress::LocalHost, port);
    if (!socket->waitForConnected(5000))
        return nullptr;
    socket->write(head);
    socket->flush();
    return socket;
}

QByteArray upgradeHead(const QByteArray &authorization)
{
    return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           authorization + "\r\n";
}

QString endpointOf(const QTcpSocket &socket)
{
    return QStringLiteral("127.0.0.1:%1").arg(socket.localPort());
}

// The status line the server answered on socket, once it has.
QByteArray statusOf(QTcpSocket &socket)
{
    if (!QTest::qWaitFor([&] { return socket.canReadLine(); }, 5000))
        return QByteArray();
    return socket.readLine().trimmed();
}

} // namespace

class TestServerHardening : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // A refused upgrade is one line with the address and the reason; its deadline passing later
    // adds nothing, and only a client that really sent nothing is told off for it.
    void refusedUpgradeIsLoggedOnce()
    {
        LogCapture log;
        ServerSettings settings;
        settings.upgradeTimeoutMs = 300;
        const std::unique_ptr<TunnelServer> server = startServer(settings);
        const quint16 port = server->serverPort();

        const auto wrongToken = sendRequest(port, upgradeHead("Authorization: Bearer wrong\r\n"));
        const auto noToken = sendRequest(port, upgradeHead(QByteArray()));
        const auto plainHttp = sendRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto garbage = sendRequest(port, "NONSENSE\r\n\r\n");
        // Connected last, so that its deadline passes after every other one.
        const auto silent = sendRequest(port, QByteArray());
        QVERIFY(wrongToken && noToken && plainHttp && garbage && silent);

        // Taken now: a closed socket forgets its port.
        const QList<std::tuple<const QTcpSocket *, QString, QString>> refusals = {
            {wrongToken.get(), endpointOf(*wrongToken), QStringLiteral("HTTP 401, invalid token")},
            {noToken.get(), endpointOf(*noToken),
             QStringLiteral("HTTP 401, no bearer token presented")},
            {plainHttp.get(), endpointOf(*plainHttp),
             QStringLiteral("HTTP 426, not a WebSocket upgrade")},
            {garbage.get(), endpointOf(*garbage), QStringLiteral("HTTP 400, ")},
        };
        const QString silentLine =
            QStringLiteral("%1 sent no complete upgrade request in time").arg(endpointOf(*silent));
        QTRY_COMPARE_WITH_TIMEOUT(log.linesContaining(silentLine).size(), qsizetype(1), 5000);

        for (const auto &[socket, endpoint, reason] : refusals) {
            const QStringList lines = log.linesContaining(endpoint + QLatin1Char(':'));
            QCOMPARE(lines.size(), qsizetype(1));
            QVERIFY2(
                lines.first().startsWith(QStringLiteral("refused %1: %2").arg(endpoint, reason)),
                qPrintable(lines.first()));
            QTRY_COMPARE(socket->state(), QAbstractSocket::UnconnectedState);
        }
        QCOMPARE(log.linesContaining(QStringLiteral(":0 ")).size(), qsizetype(0));
        QCOMPARE(log.linesContaining(QStringLiteral("in time")).size(), qsizetype(1));
    }

    // Guessing tokens from one address gets it refused for a while, even with the right token;
    // another address is served as before. The penalty is logged once.
    void tokenGuessingIsPenalizedPerAddress()
    {
        LogCapture log;
        ServerSettings settings;
        settings.maxTokenFailures = 3;
        const std::unique_ptr<TunnelServer> server = startServer(settings);
        const quint16 port = server->serverPort();
        const QByteArray right =
            upgradeHead("Authorization: Bearer " + QByteArray(kToken) + "\r\n");
        const QByteArray wrong = upgradeHead("Authorization: Bearer guess\r\n");

        for (int i = 0; i < 3; ++i) {
            const auto guess = sendRequest(port, wrong);
            QVERIFY(guess);
            QCOMPARE(statusOf(*guess), QByteArray("HTTP/1.1 401 Unauthorized"));
        }
        for (const QByteArray &head : {wrong, right}) {
            const auto penalized = sendRequest(port, head);
            QVERIFY(penalized);
            QCOMPARE(statusOf(*penalized), QByteArray("HTTP/1.1 429 Too Many Requests"));
        }
        const auto colleague = sendRequest(port, right, QHostAddress(QStringLiteral("127.0.0.2")));
        QVERIFY(colleague);
        QCOMPARE(statusOf(*colleague), QByteArray("HTTP/1.1 101 Switching Protocols"));

        QCOMPARE(log.linesContaining(QStringLiteral("invalid tokens in a row")).size(),
                 qsizetype(1));
        QCOMPARE(log.linesContaining(QStringLiteral("refused 127.0.0.2")).size(), qsizetype(0));
    }
};

QTEST_GUILESS_MAIN(TestServerHardening)
#include "tst_serverhardening.moc"
