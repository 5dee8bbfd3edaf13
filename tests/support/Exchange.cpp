#include "Exchange.h"

#include <QNetworkDatagram>
#include <QTcpSocket>
#include <QTest>
#include <QUdpSocket>

QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs,
                    const QHostAddress &address)
{
    QTcpSocket socket;
    socket.connectToHost(address, port);
    if (!QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; },
                         timeoutMs))
        return QByteArray();
    socket.write(request);
    QByteArray answer;
    [[maybe_unused]] const bool complete = QTest::qWaitFor(
        [&] {
            answer += socket.readAll();
            return answer.size() >= request.size() ||
                   socket.state() == QAbstractSocket::UnconnectedState;
        },
        timeoutMs);
    return answer;
}

QByteArray exchange(QUdpSocket &socket, const QHostAddress &address, quint16 port,
                    const QByteArray &datagram)
{
    socket.writeDatagram(datagram, address, port);
    if (!QTest::qWaitFor([&] { return socket.hasPendingDatagrams(); }, 10000))
        return QByteArray();
    return socket.receiveDatagram().data();
}
