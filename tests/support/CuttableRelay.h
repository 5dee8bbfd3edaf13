#pragma once

#include <QElapsedTimer>
#include <QList>
#include <QPointer>
#include <QTcpServer>
#include <QTimer>

class QTcpSocket;

// A TCP relay of the test's own between a client and a remote: passes connections on to a port,
// both ways, with bounded buffers; cut() aborts every connection on both sides at once, as a
// proxy or a roaming network would.
class CuttableRelay : public QObject
{
public:
    explicit CuttableRelay(quint16 targetPort, QObject *parent = nullptr);

    quint16 port() const { return m_server.serverPort(); }

    // An outage: cuts every connection and refuses new ones until restored, on the same port.
    void goDown();
    bool restore();

    // Cuts every connection after this long without a byte either way, as a proxy's idle
    // timeout (proxy_read_timeout) does.
    void setIdleTimeout(int ms);
    int idleCuts() const { return m_idleCuts; }

    void cut();

    // For connections from now on: the client's upgrade request gets through, and then nothing
    // more from the client until release(), as on a congested path.
    void stallAfterUpgrade();
    void release();
    // The WebSocket messages (short ones, in single frames) held back so far.
    int heldMessages() const;

private:
    static constexpr qint64 kBuffer = 1024 * 1024;

    void relay(QTcpSocket *accepted);
    void join(QTcpSocket *from, QTcpSocket *to);
    void pass(QTcpSocket *from, QTcpSocket *to);
    // How many bytes may be passed on from this socket now.
    qint64 passable(QTcpSocket *from) const;

    QTcpServer m_server;
    quint16 m_targetPort;
    quint16 m_port = 0;
    QList<QPointer<QTcpSocket>> m_sockets;
    QTimer m_idleCheck;
    QElapsedTimer m_lastTraffic;
    int m_idleTimeoutMs = 0;
    int m_idleCuts = 0;
    bool m_stallAfterUpgrade = false;
    // Client connections made while stalling, before and after their upgrade request passed.
    QList<QPointer<QTcpSocket>> m_stalling;
    QList<QPointer<QTcpSocket>> m_stalled;
};
