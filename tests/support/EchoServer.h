#pragma once

#include <QTcpServer>

// A loopback TCP server that writes back whatever it reads, for as many connections as arrive.
class EchoServer : public QTcpServer
{
    Q_OBJECT

public:
    explicit EchoServer(QObject *parent = nullptr);
    int connectionsAccepted() const { return m_accepted; }

private:
    int m_accepted = 0;
};
