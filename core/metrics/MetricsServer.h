#pragma once

#include <QHostAddress>
#include <QTcpServer>

#include <functional>
#include <optional>

namespace wstunnel {

// A minimal HTTP/1.1 server for Prometheus: GET /metrics answers with what render() returns,
// anything else with 404 or 405, one request per connection. Requests are small and bounded in
// size and time, so that a stuck or hostile client costs one socket for a few seconds.
class MetricsServer : public QTcpServer
{
    Q_OBJECT

public:
    static constexpr int kMaxRequestSize = 8192;
    static constexpr int kRequestTimeoutMs = 5000;
    static constexpr int kMaxClients = 16;

    struct Endpoint
    {
        QHostAddress address = QHostAddress(QHostAddress::LocalHost);
        quint16 port = 0;
    };

    MetricsServer(std::function<QByteArray()> render, QObject *parent = nullptr);

    // --metrics [ADDR:]PORT: loopback unless an address is given; port 0 picks a free one.
    static std::optional<Endpoint> parseEndpoint(const QString &text, QString *error);

    // false with error set when address:port cannot be bound.
    bool start(const QHostAddress &address, quint16 port, QString *error);
    QString url() const;

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    std::function<QByteArray()> m_render;
    int m_clients = 0;
};

} // namespace wstunnel
