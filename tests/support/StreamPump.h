#pragma once

#include <QByteArray>
#include <QCryptographicHash>
#include <QObject>
#include <QTcpSocket>

// Drives one TCP connection as a test peer: sends a deterministic byte stream of a given length
// (generated as it goes, so gigabytes cost no memory) and hashes everything it receives.
class StreamPump : public QObject
{
    Q_OBJECT

public:
    StreamPump(quint16 port, qint64 bytesToSend, quint32 seed, QObject *parent = nullptr);
    // The same on a connection a test server accepted.
    StreamPump(qintptr descriptor, qint64 bytesToSend, quint32 seed, QObject *parent = nullptr);

    // Half-closes the write side once everything was sent.
    void setShutdownWhenSent(bool shutdown) { m_shutdownWhenSent = shutdown; }
    // Stops reading (a stalled reader); the kernel buffers fill and the peer must stop sending.
    void setReading(bool reading);

    qint64 bytesSent() const { return m_sent; }
    qint64 bytesReceived() const { return m_received; }
    bool sentAll() const { return m_sent == m_toSend; }
    bool disconnected() const { return m_disconnected; }
    QByteArray receivedDigest() { return m_receivedHash.result(); }
    QTcpSocket &socket() { return m_socket; }

    // SHA-256 of the stream a pump with this length and seed sends.
    static QByteArray expectedDigest(qint64 length, quint32 seed);
    static QByteArray streamChunk(qint64 offset, qint64 length, quint32 seed);

private:
    void watchSocket();
    void pump();

    QTcpSocket m_socket;
    qint64 m_toSend;
    quint32 m_seed;
    qint64 m_sent = 0;
    qint64 m_received = 0;
    bool m_shutdownWhenSent = false;
    bool m_reading = true;
    bool m_disconnected = false;
    QCryptographicHash m_receivedHash{QCryptographicHash::Sha256};
};
