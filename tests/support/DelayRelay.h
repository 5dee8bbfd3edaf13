#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QObject>
#include <QTcpServer>
#include <QTimer>

#include <deque>

class QTcpSocket;

// A TCP relay of the test's own that passes every byte on a fixed time after it arrived, both
// ways, holding whatever is in flight: a long path (a WebSocket to a far dev server) on
// loopback. One connection at a time.
class DelayRelay : public QObject
{
public:
    DelayRelay(quint16 targetPort, int oneWayDelayMs, QObject *parent = nullptr);

    quint16 port() const { return m_server.serverPort(); }

private:
    // One direction: bytes read from `from`, each chunk due for `to` at its time.
    struct Direction
    {
        QTcpSocket *from = nullptr;
        QTcpSocket *to = nullptr;
        std::deque<std::pair<qint64, QByteArray>> queue;
        QTimer timer;
    };

    void relay(QTcpSocket *accepted);
    void take(Direction &direction);
    void deliver(Direction &direction);

    QTcpServer m_server;
    quint16 m_targetPort;
    int m_delayMs;
    QElapsedTimer m_clock;
    Direction m_up;
    Direction m_down;
};
