#pragma once

#include "channel/ChannelEndpoint.h"

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QTimer>

class QSocketNotifier;

namespace wstunnel {

// A non-blocking TCP socket on a native descriptor. QTcpSocket cannot half-close (it closes the
// whole connection when the peer shuts its write side), and its read buffer sits between the
// kernel and our flow control; this class reads only when asked, writes straight to the kernel
// and queues only what the kernel does not take. It is the TCP stream endpoint of a channel.
class StreamSocket final : public ChannelEndpoint
{
    Q_OBJECT

public:
    explicit StreamSocket(QObject *parent = nullptr);
    ~StreamSocket() override;

    // Takes over an accepted, connected descriptor.
    void adopt(qintptr descriptor);
    // Tries the addresses in order; emits connected() or connectFailed().
    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;

    // > 0: bytes read; 0: end of stream; kWouldBlock: nothing now; kError: see errorString().
    qint64 read(char *buffer, qint64 maxSize) override;
    // Returns how many bytes the kernel took now (the rest is queued and reported through
    // bytesWritten()), or kError.
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return m_queuedBytes; }
    void setReadEnabled(bool enabled) override;
    // Sends FIN once everything queued has been written.
    void shutdownWrite() override;
    // Ends the connection with a reset so the peer sees an abort, not an orderly end.
    void abort() override;
    void close() override;

    QString peerAddress() const override;
    QString errorString() const override { return m_errorString; }

private:
    void setDescriptor(int fd);
    void tryNextAddress();
    void finishConnect();
    void flushQueue();
    void failConnect(FailureCode code, const QString &reason);
    void releaseDescriptor();
    void updateWriteNotifier();

    int m_fd = -1;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    bool m_readEnabled = true;
    bool m_connecting = false;
    bool m_shutdownPending = false;
    QList<QByteArray> m_queue;
    qsizetype m_queueHeadOffset = 0;
    qint64 m_queuedBytes = 0;
    QString m_errorString;

    QList<QHostAddress> m_addresses;
    quint16 m_port = 0;
    int m_lastConnectError = 0;
    QTimer m_connectTimer;
};

} // namespace wstunnel
