#include "WebSocketPair.h"

#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTest>

namespace {

// A self-signed certificate for 127.0.0.1, valid until 2126, and its key.
constexpr char kCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUcICKOkH0T9iQLfoVkwfJiTmSM2IwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMjA1NTM1OFoYDzIxMjYxMTA4
MDU1MzU4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARt6lcPAsncUP8uZJcGQOfXAZH5iYLj8PQ7q7oAnIsaNKH939sIKc7l
a6LO9aovjVbkHLXHZCea8YHRLHsYB/oIo2QwYjAdBgNVHQ4EFgQU3NGYttMU+Rex
1Hk4vahf5362M9owHwYDVR0jBBgwFoAU3NGYttMU+Rex1Hk4vahf5362M9owDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQDix3bA0MdFJcoBvbvvuUHFszfPAPnDX4SP/HCkhZcx1QIhAK8nAAqBPtSCA1aD
djFOQurpRM8jcUCFECxsxKT+2I/U
-----END CERTIFICATE-----
)";
constexpr char kPrivateKey[] = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIO/4ZDjvBCWhH1T0Vwl6E+Is/tWMGTbRF2b+RzaClkNMoAoGCCqGSM49
AwEHoUQDQgAEbepXDwLJ3FD/LmSXBkDn1wGR+YmC4/D0O6u6AJyLGjSh/d/bCCnO
5WuizvWqL41W5By1x2QnmvGB0Sx7GAf6CA==
-----END EC PRIVATE KEY-----
)";

} // namespace

bool WebSocketPair::open(Security security)
{
    const bool tls = security == Security::Tls;
    const QSslCertificate certificate(QByteArray(kCertificate), QSsl::Pem);
    if (tls) {
        auto sslServer = std::make_unique<QSslServer>();
        QSslConfiguration serverConfiguration = QSslConfiguration::defaultConfiguration();
        serverConfiguration.setLocalCertificate(certificate);
        serverConfiguration.setPrivateKey(QSslKey(QByteArray(kPrivateKey), QSsl::Ec));
        sslServer->setSslConfiguration(serverConfiguration);
        tcpServer = std::move(sslServer);
        QSslConfiguration clientConfiguration = QSslConfiguration::defaultConfiguration();
        clientConfiguration.setCaCertificates({certificate});
        client.setSslConfiguration(clientConfiguration);
    } else {
        tcpServer = std::make_unique<QTcpServer>();
    }
    if (!tcpServer->listen(QHostAddress::LocalHost))
        return false;
    // QSslServer offers a connection once its handshake is done.
    QObject::connect(tcpServer.get(), &QTcpServer::pendingConnectionAvailable, tcpServer.get(),
                     [this] {
                         serverTransport = tcpServer->nextPendingConnection();
                         wsServer.handleConnection(serverTransport);
                     });
    QObject::connect(&wsServer, &QWebSocketServer::newConnection, &wsServer,
                     [this] { server.reset(wsServer.nextPendingConnection()); });
    client.open(QUrl(QStringLiteral("%1://127.0.0.1:%2/")
                         .arg(tls ? QStringLiteral("wss") : QStringLiteral("ws"))
                         .arg(tcpServer->serverPort())));
    return QTest::qWaitFor(
        [this] { return server && client.state() == QAbstractSocket::ConnectedState; });
}

QSslSocket *WebSocketPair::serverTlsTransport() const
{
    return qobject_cast<QSslSocket *>(serverTransport.data());
}
