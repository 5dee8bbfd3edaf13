#pragma once

#include "channel/ChannelEndpoint.h"

#include <QByteArray>

// A channel endpoint in memory: the test plays the local application. What it feeds is read by
// the channel; what the channel writes is collected, and a stalled endpoint takes nothing until
// it is released, like a local reader that stopped reading.
class MemoryEndpoint final : public wstunnel::ChannelEndpoint
{
    Q_OBJECT

public:
    enum class ConnectOutcome { Succeed, Refuse, Never };

    explicit MemoryEndpoint(QObject *parent = nullptr);

    void setConnectOutcome(ConnectOutcome outcome) { m_outcome = outcome; }
    // Ends a connect left pending (ConnectOutcome::Never) with success.
    void completeConnect() { Q_EMIT connected(); }
    // The local application sends bytes, or ends its side of the stream.
    void feed(const QByteArray &bytes);
    void finishInput();
    // While stalled, writes are queued, not taken.
    void setStalled(bool stalled);

    QByteArray written() const { return m_written; }
    qint64 queued() const { return m_queue.size(); }
    bool isWriteShut() const { return m_writeShut; }
    bool isAborted() const { return m_aborted; }
    bool isClosed() const { return m_closed; }
    bool wasConnectAsked() const { return m_connectAsked; }
    bool isReadEnabled() const { return m_readEnabled; }

    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return m_queue.size(); }
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override { m_writeShut = true; }
    void abort() override
    {
        m_aborted = true;
        Q_EMIT aborted();
    }
    void close() override { m_closed = true; }
    QString peerAddress() const override { return QStringLiteral("memory"); }
    QString errorString() const override { return QString(); }

Q_SIGNALS:
    // Seen by a QSignalSpy even when the channel deletes the endpoint right after aborting it.
    void aborted();

private:
    void announceReadable();

    ConnectOutcome m_outcome = ConnectOutcome::Succeed;
    QByteArray m_input;
    bool m_inputFinished = false;
    QByteArray m_written;
    QByteArray m_queue;
    bool m_stalled = false;
    bool m_readEnabled = true;
    bool m_readablePending = false;
    bool m_writeShut = false;
    bool m_aborted = false;
    bool m_closed = false;
    bool m_connectAsked = false;
};
