#pragma once

#include "channel/ChannelEndpoint.h"
#include "net/SocketAddress.h"

#include <QByteArray>
#include <QList>
#include <QPointer>

namespace wstunnel {

class Channel;
class DatagramListener;

// One source address:port that sent to a UDP listener: the endpoint of that flow's channel. The
// listener hands it the source's datagrams; what the channel writes goes back to that source
// through the listener's socket, or is dropped when the kernel cannot take it now.
class DatagramFlow final : public ChannelEndpoint
{
    Q_OBJECT

public:
    // Datagrams waiting for the channel to read them; the channel reads each as it arrives, so
    // only a channel that stopped reading (closing) ever fills this.
    static constexpr int kMaxQueued = 16;

    DatagramFlow(DatagramListener *listener, const SocketAddress &source);
    ~DatagramFlow() override;

    const SocketAddress &source() const { return m_source; }
    // The channel carrying this flow, once the listener opened it.
    Channel *channel() const { return m_channel; }
    void setChannel(Channel *channel) { m_channel = channel; }
    // A datagram from the source; false when it had to be dropped.
    bool receive(QByteArrayView datagram);

    ChannelTransport transport() const override { return ChannelTransport::Udp; }
    // A flow is always the side that opens its channel; there is nothing to connect.
    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return 0; }
    void setReadEnabled(bool enabled) override { m_readEnabled = enabled; }
    void shutdownWrite() override {}
    void abort() override { detach(); }
    void close() override { detach(); }
    QString peerAddress() const override { return m_sourceText; }
    QString errorString() const override { return QString(); }

private:
    void detach();

    QPointer<DatagramListener> m_listener;
    QPointer<Channel> m_channel;
    SocketAddress m_source;
    QString m_sourceText;
    QList<QByteArray> m_queue;
    bool m_readEnabled = true;
};

} // namespace wstunnel
