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

void CuttableRelay::stallAfterUpgrade()
{
    m_stallAfterUpgrade = true;
}

void CuttableRelay::release()
{
    m_stallAfterUpgrade = false;
    m_stalling.clear();
    m_stalled.clear();
    for (qsizetype i = 0; i + 1 < m_sockets.size(); i += 2) {
        if (m_sockets.at(i) && m_sockets.at(i + 1))
            pass(m_sockets.at(i), m_sockets.at(i + 1));
    }
}

int CuttableRelay::heldMessages() const
{
    int messages = 0;
    for (const QPointer<QTcpSocket> &socket : m_stalled) {
        if (!socket)
            continue;
        // Client frames are masked; a short one has its length in the second byte.
        const QByteArray held = socket->peek(64 * 1024);
        qsizetype at = 0;
        while (at + 2 <= held.size()) {
            const int length = quint8(held.at(at + 1)) & 0x7f;
            const qsizetype frame = 2 + 4 + length;
            if (length >= 126 || at + frame > held.size())
                break;
            ++messages;
            at += frame;
        }
    }
    return messages;
}

qint64 CuttableRelay::passable(QTcpSocket *from) const
{
    if (m_stalled.contains(from))
        return 0;
    if (!m_stalling.contains(from))
        return from->bytesAvailable();
    // Up to the end of the request's head, and no further.
    const QByteArray head = from->peek(64 * 1024);
    const qsizetype end = head.indexOf("\r\n\r\n");
    return end < 0 ? 0 : end + 4;
}

void CuttableRelay::relay(QTcpSocket *accepted)
{
    accepted->setParent(this);
    accepted->setReadBufferSize(kBuffer);
    auto *upstream = new QTcpSocket(this);
    upstream->setReadBufferSize(kBuffer);
    m_sockets << accepted << upstream;
    if (m_stallAfterUpgrade)
        m_stalling << accepted;
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
        const qint64 allowed = passable(from);
        if (allowed == 0)
            return;
        to->write(from->read(qMin<qint64>(allowed, 256 * 1024)));
        m_lastTraffic.start();
        if (m_stalling.removeAll(from) > 0)
            m_stalled << from;
    }
}
