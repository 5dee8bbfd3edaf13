#include "MetricsServer.h"

#include "PrometheusText.h"
#include "config/ForwardSpec.h"

#include <QTcpSocket>
#include <QTimer>

namespace wstunnel {

namespace {

QByteArray response(const QByteArray &status, const QByteArray &contentType, const QByteArray &body,
                    const QByteArray &extraHeaders = {})
{
    return "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType +
           "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n" +
           extraHeaders + "\r\n" + body;
}

} // namespace

std::optional<MetricsServer::Endpoint> MetricsServer::parseEndpoint(const QString &text,
                                                                    QString *error)
{
    QString host = QStringLiteral("127.0.0.1");
    Endpoint endpoint;
    if (!wstunnel::parseEndpoint(text, &host, &endpoint.port, error)) {
        *error = QStringLiteral("--metrics: %1").arg(*error);
        return std::nullopt;
    }
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        host = QStringLiteral("127.0.0.1");
    if (!endpoint.address.setAddress(host)) {
        *error = QStringLiteral("--metrics: '%1' is not an IP address").arg(host);
        return std::nullopt;
    }
    return endpoint;
}

MetricsServer::MetricsServer(std::function<QByteArray()> render, QObject *parent)
    : QTcpServer(parent)
    , m_render(std::move(render))
{
}

bool MetricsServer::start(const QHostAddress &address, quint16 port, QString *error)
{
    if (listen(address, port))
        return true;
    *error = QStringLiteral("--metrics: cannot listen on %1: %2")
                 .arg(formatEndpoint(address.toString(), port), errorString());
    return false;
}

QString MetricsServer::url() const
{
    return QStringLiteral("http://%1/metrics")
        .arg(formatEndpoint(serverAddress().toString(), serverPort()));
}

void MetricsServer::incomingConnection(qintptr descriptor)
{
    auto *socket = new QTcpSocket(this);
    socket->setSocketDescriptor(descriptor);
    if (m_clients >= kMaxClients) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    ++m_clients;
    connect(socket, &QObject::destroyed, this, [this] { --m_clients; });
    auto *timeout = new QTimer(socket);
    timeout->setSingleShot(true);
    connect(timeout, &QTimer::timeout, socket, [socket] {
        socket->abort();
        socket->deleteLater();
    });
    timeout->start(kRequestTimeoutMs);
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
        // Answer once the whole head is read: closing with unread input would reset the
        // connection and could cut the answer short.
        const bool complete = socket->peek(kMaxRequestSize).contains("\r\n\r\n");
        if (!complete && socket->bytesAvailable() < kMaxRequestSize)
            return;
        // The request line decides; the headers are not needed.
        const QByteArray head = socket->readAll();
        const QList<QByteArray> requestLine = head.left(head.indexOf("\r\n")).split(' ');
        QByteArray answer;
        if (requestLine.size() != 3 || !requestLine.at(2).startsWith("HTTP/")) {
            answer = response("400 Bad Request", "text/plain", "bad request\n");
        } else if (requestLine.at(0) != "GET" && requestLine.at(0) != "HEAD") {
            answer = response("405 Method Not Allowed", "text/plain", "only GET\n",
                              "Allow: GET, HEAD\r\n");
        } else if (requestLine.at(1) != "/metrics" && !requestLine.at(1).startsWith("/metrics?")) {
            answer = response("404 Not Found", "text/plain", "metrics are at /metrics\n");
        } else {
            answer = response("200 OK", PrometheusText::kContentType, m_render());
            if (requestLine.at(0) == "HEAD")
                answer.truncate(answer.indexOf("\r\n\r\n") + 4);
        }
        // One request per connection: whatever else the client sends is not read.
        disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
        socket->write(answer);
        socket->disconnectFromHost();
    });
}

} // namespace wstunnel
