#pragma once

#include "channel/ChannelEndpoint.h"

#include <QPointer>

#include <memory>

namespace wstunnel {

// One end of a relay between two channels of different sessions (a hub between a desktop and
// an agent): what one end's channel writes, the other end's channel reads. The bytes wait in a
// buffer shared by both ends until the reading channel takes them, and only then count as written
// for the writing channel, so its peer gets credit back only as fast as the far side moves on:
// each direction holds at most the writing channel's receive window.
//
// A datagram relay (transport Udp) keeps each write as one datagram, which the reading channel is
// asked to read at once, and reads one whole datagram at a time. Its writer never waits: a datagram
// is taken at once or, when the direction already holds kDatagramQueueBytes, dropped (write returns
// 0), as a full UDP socket buffer would. So a relayed UDP flow holds at most that much per
// direction, whatever its source sends.
class RelayEndpoint final : public ChannelEndpoint
{
    Q_OBJECT

public:
    // About what a Linux UDP socket buffers by default (212,992 bytes), and a few of the largest
    // datagrams.
    static constexpr qint64 kDatagramQueueBytes = 256 * 1024;

    explicit RelayEndpoint(ChannelTransport transport = ChannelTransport::Tcp,
                           QObject *parent = nullptr);
    ~RelayEndpoint() override;

    ChannelTransport transport() const override;

    // Makes the other end, whose channel sees peerAddress as its local peer.
    RelayEndpoint *createMate(const QString &peerAddress);
    // What the relay reports once the channel on the far session is open, or failed to open.
    void reportConnected();
    void reportConnectFailed(FailureCode code, const QString &reason);

    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 readWithHeadroom(QByteArray &out, qsizetype headroom, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    bool keepsWrites() const override { return true; }
    qint64 writeMessage(QByteArray message, qsizetype payloadOffset) override;
    qint64 bytesToWrite() const override;
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override;
    void abort() override;
    void close() override;
    QString peerAddress() const override { return m_peerAddress; }
    QString errorString() const override { return m_errorString; }

private:
    struct Pipe;

    RelayEndpoint(std::shared_ptr<Pipe> pipe, int side, const QString &peerAddress);
    bool readable() const;
    bool carriesDatagrams() const;
    qint64 readDatagram(char *buffer, qint64 maxSize);
    qint64 writeDatagram(QByteArrayView datagram);
    void tookBytes(qint64 bytes);
    void scheduleReadyRead();

    std::shared_ptr<Pipe> m_pipe;
    int m_side; // which of the pipe's two directions this end writes
    QPointer<RelayEndpoint> m_mate;
    QString m_peerAddress;
    QString m_errorString;
    bool m_readEnabled = true;
    bool m_readyReadScheduled = false;
    bool m_handingOver = false; // a datagram write is being read at once
    bool m_connectAsked = false;
    bool m_connected = false;
    bool m_ended = false;
};

} // namespace wstunnel
