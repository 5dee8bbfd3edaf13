#include "Exchange.h"

#include <QTcpSocket>
#include <QTest>

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
