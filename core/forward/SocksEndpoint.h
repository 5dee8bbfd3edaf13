#pragma once

#include "SocksHandshake.h"
#include "channel/ChannelEndpoint.h"

#include <QTimer>

namespace wstunnel {

class StreamSocket;

// A connection to a SOCKS forward (-D): first reads the client's handshake, then carries the
// channel it asked for. It answers the request when the far side does: success on open-ok, the
// matching reply code on open-failed, and then ends in order so that the client reads the reply.
class SocksEndpoint final : public ChannelEndpoint
{
    Q_OBJECT

public:
    // A client has this long to send its request.
    static constexpr int kHandshakeTimeoutMs = 10000;

    // Takes ownership of the accepted socket and starts reading the handshake.
    explicit SocksEndpoint(StreamSocket *socket, QObject *parent = nullptr);

    QString host() const { return m_handshake.host(); }
    quint16 port() const { return m_handshake.port(); }

    // The far side reached the target, or could not.
    void replyOpened();
    void replyFailed(FailureCode code);
    // Refuses the request without asking the far side (no session).
    void refuse(SocksHandshake::Reply code);

    void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                            int timeoutMs) override;
    qint64 read(char *buffer, qint64 maxSize) override;
    qint64 write(QByteArrayView data) override;
    qint64 bytesToWrite() const override;
    void setReadEnabled(bool enabled) override;
    void shutdownWrite() override;
    void abort() override;
    void close() override;
    QString peerAddress() const override;
    QString errorString() const override;

Q_SIGNALS:
    // The client asked for host():port().
    void requested();
    // The handshake failed or timed out; the client got its answer, and the connection closes
    // right after.
    void handshakeFailed(const QString &reason);

private:
    void readHandshake();
    void sendReply(const QByteArray &reply);
    void failHandshake(const QString &reason);

    StreamSocket *m_socket;
    SocksHandshake m_handshake;
    QTimer m_handshakeTimer;
    bool m_refused = false;
    qint64 m_replyBytesQueued = 0; // of a reply the kernel did not take at once
};

} // namespace wstunnel
