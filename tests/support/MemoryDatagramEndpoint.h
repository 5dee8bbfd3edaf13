#pragma once

#include "channel/ChannelEndpoint.h"

#include <QByteArray>
#include <QList>

// A datagram endpoint in memory: the test plays a UDP application. Each datagram it feeds is read
// by the channel as one; each datagram the channel writes is collected whole, or dropped while the
// endpoint drops, like a socket whose buffer is full.
class MemoryDatagramEndpoint final : public wstunnel::ChannelEndpoint
{
    Q_OBJECT

public:
    explicit MemoryDatagramEndpoint(QObject *parent = nullptr);

    // Leaves connectToAddresses() unanswered until completeConnect().
    void setConnectPending(bool pending) { m_connectPending = pending; }
    void completeConnect() { Q_EMIT connected(); }
    // The local application sends one datagram.
    void feed(const QByteArray &datagram);
    // While dropping, written datagrams are not taken.
    void setDropping(bool dropping) { m_dropping = dropping; }

    QList<QByteArray> written() const { return m_written; }
    bool isAborted() const { return m_aborted; }
    bool isReadEnabled() const { return m_readEnabled; }

    wstunnel::ChannelTransport transport() const override
    {
        return wstunnel::ChannelTransport::Udp;
    }
    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return 0; }
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override {}
    void abort() override { m_aborted = true; }
    void close() override { m_aborted = true; }
    QString peerAddress() const override { return QStringLiteral("memory-udp"); }
    QString errorString() const override { return QString(); }

private:
    void announceReadable();

    QList<QByteArray> m_input;
    QList<QByteArray> m_written;
    bool m_connectPending = false;
    bool m_dropping = false;
    bool m_readEnabled = true;
    bool m_readablePending = false;
    bool m_aborted = false;
};
