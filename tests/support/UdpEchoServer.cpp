#include "UdpEchoServer.h"

#include <QNetworkDatagram>
#include <QVariant>

UdpEchoServer::UdpEchoServer(const QHostAddress &address, const QByteArray &prefix, QObject *parent)
    : QObject(parent)
    , m_prefix(prefix)
{
    m_socket.bind(address, 0);
    // Room for bursts: 500 flows' first datagrams arrive at once.
    m_socket.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption,
                             QVariant(4 * 1024 * 1024));
    connect(&m_socket, &QUdpSocket::readyRead, this, [this] {
        while (m_socket.hasPendingDatagrams()) {
            const QNetworkDatagram request = m_socket.receiveDatagram();
            ++m_received;
            m_socket.writeDatagram(m_prefix + request.data(), request.senderAddress(),
                                   quint16(request.senderPort()));
        }
    });
}
