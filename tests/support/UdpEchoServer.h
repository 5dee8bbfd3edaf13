#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QUdpSocket>

// A loopback UDP server that answers every datagram to its sender, with a prefix so that a reply
// is told apart from a request (empty prefix: the same bytes back).
class UdpEchoServer : public QObject
{
    Q_OBJECT

public:
    explicit UdpEchoServer(const QHostAddress &address = QHostAddress(QHostAddress::LocalHost),
                           const QByteArray &prefix = QByteArray(), QObject *parent = nullptr);

    quint16 port() const { return m_socket.localPort(); }
    int datagramsReceived() const { return m_received; }

private:
    QUdpSocket m_socket;
    QByteArray m_prefix;
    int m_received = 0;
};
