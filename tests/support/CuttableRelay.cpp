#include "CuttableRelay.h"

#include <QTcpSocket>

CuttableRelay::CuttableRelay(quint16 targetPort, QObject *parent)
    : QObject(parent)
    , m_targetPort(targetPort)
{
    m_server.listen(QHostAddress::LocalHost, 0);
    connect(&m_server, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *accepted = m_server.nextPendingConnection())
            relay(accepted);
    });
}

void CuttableRelay::goDown()
{
    m_port = m_server.serverPort();
    m_server.close();
    cut();
}

bool CuttableRelay::restore()
{
    return m_server.listen(QHostAddress::LocalHost, m_port);
}

void CuttableRelay::setIdleTimeout(int ms)
{
    m_idleTimeoutMs = ms;
    m_lastTraffic.start();
    m_idleCheck.setInterval(100);
    connect(&m_idleCheck, &QTimer::timeout, this, [this] {
        if (m_lastTraffic.elapsed() >= m_idleTimeoutMs) {
            ++m_idleCuts;
            cut();
            m_lastTraffic.start();
        }
    });
    m_idleCheck.start();
}

void CuttableRelay::cut()
{
    for (const QPointer<QTcpSocket> &socket : std::exchange(m_sockets, {})) {
        if (socket) {
            socket->disconnect(this);
            socket->abort();
            socket->deleteLater();
        }
    }
}

void CuttableRelay::relay(QTcpSocket *accepted)
{
    accepted->setParent(this);
    accepted->setReadBufferSize(kBuffer);
    auto *upstream = new QTcpSocket(this);
    upstream->setReadBufferSize(kBuffer);
    m_sockets << accepted << upstream;
    connect(upstream, &QTcpSocket::connected, this, [this, accepted, upstream] {
        join(accepted, upstream);
        join(upstream, accepted);
        pass(accepted, upstream);
    });
    // One side closing closes the other once what it sent has been passed on.
    connect(accepted, &QTcpSocket::disconnected, this, [this, accepted, upstream] {
        pass(accepted, upstream);
        upstream->disconnectFromHost();
    });
    connect(upstream, &QTcpSocket::disconnected, this, [this, accepted, upstream] {
        pass(upstream, accepted);
        accepted->disconnectFromHost();
    });
    upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
}

void CuttableRelay::join(QTcpSocket *from, QTcpSocket *to)
{
    connect(from, &QTcpSocket::readyRead, this, [this, from, to] { pass(from, to); });
    connect(to, &QTcpSocket::bytesWritten, this, [this, from, to] { pass(from, to); });
}

void CuttableRelay::pass(QTcpSocket *from, QTcpSocket *to)
{
    const bool closing = from->state() != QAbstractSocket::ConnectedState;
    while (from->bytesAvailable() > 0 && (closing || to->bytesToWrite() < kBuffer)) {
        to->write(from->read(256 * 1024));
        m_lastTraffic.start();
    }
}
