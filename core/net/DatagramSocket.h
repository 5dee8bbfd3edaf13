#pragma once

#include "channel/ChannelEndpoint.h"

class QSocketNotifier;

namespace wstunnel {

// A connected, non-blocking UDP socket: the endpoint of a datagram channel on the side that
// reaches the target. read() returns one whole datagram; write() sends one whole datagram or
// drops it when the kernel cannot take it now, and never queues. The kernel passes on only
// datagrams from the target, so replies belong to this flow alone.
class DatagramSocket final : public ChannelEndpoint
{
    Q_OBJECT

public:
    explicit DatagramSocket(QObject *parent = nullptr);
    ~DatagramSocket() override;

    ChannelTransport transport() const override { return ChannelTransport::Udp; }
    // Connects to the first address a socket can be made for; UDP has no handshake, so this
    // succeeds at once unless the address is unusable.
    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return 0; }
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override {}
    void abort() override { release(); }
    void close() override { release(); }
    QString peerAddress() const override;
    QString errorString() const override { return m_errorString; }

private:
    void release();

    int m_fd = -1;
    QSocketNotifier *m_notifier = nullptr;
    bool m_readEnabled = true;
    QString m_errorString;
};

} // namespace wstunnel
