#include "DelayRelay.h"

#include <QTcpSocket>

DelayRelay::DelayRelay(quint16 targetPort, int oneWayDelayMs, QObject *parent)
    : QObject(parent)
    , m_targetPort(targetPort)
    , m_delayMs(oneWayDelayMs)
{
    m_clock.start();
    m_server.listen(QHostAddress::LocalHost, 0);
    connect(&m_server, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *accepted = m_server.nextPendingConnection())
            relay(accepted);
    });
    for (Direction *direction : {&m_up, &m_down}) {
        direction->timer.setSingleShot(true);
        direction->timer.setTimerType(Qt::PreciseTimer);
        connect(&direction->timer, &QTimer::timeout, this,
                [this, direction] { deliver(*direction); });
    }
}

void DelayRelay::relay(QTcpSocket *accepted)
{
    accepted->setParent(this);
    auto *upstream = new QTcpSocket(this);
    m_up.from = accepted;
    m_up.to = upstream;
    m_down.from = upstream;
    m_down.to = accepted;
    connect(accepted, &QTcpSocket::readyRead, this, [this] { take(m_up); });
    connect(upstream, &QTcpSocket::readyRead, this, [this] { take(m_down); });
    connect(upstream, &QTcpSocket::connected, this, [this] { take(m_up); });
    connect(accepted, &QTcpSocket::disconnected, upstream, &QTcpSocket::disconnectFromHost);
    connect(upstream, &QTcpSocket::disconnected, accepted, &QTcpSocket::disconnectFromHost);
    upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
}

void DelayRelay::take(Direction &direction)
{
    if (direction.to->state() != QAbstractSocket::ConnectedState)
        return;
    const QByteArray bytes = direction.from->readAll();
    if (bytes.isEmpty())
        return;
    direction.queue.emplace_back(m_clock.elapsed() + m_delayMs, bytes);
    if (!direction.timer.isActive())
        direction.timer.start(m_delayMs);
}

void DelayRelay::deliver(Direction &direction)
{
    const qint64 now = m_clock.elapsed();
    while (!direction.queue.empty() && direction.queue.front().first <= now) {
        direction.to->write(direction.queue.front().second);
        direction.queue.pop_front();
    }
    if (!direction.queue.empty())
        direction.timer.start(int(direction.queue.front().first - now));
}
