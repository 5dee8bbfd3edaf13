#pragma once

#include "protocol/Message.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QString>

namespace wstunnel {

// What a channel carries its bytes to and from on this side: a TCP stream, a UDP flow, later
// another session's channel (a hub's relay). The channel keeps the protocol state and flow
// control; the endpoint only moves bytes and reports what happens.
class ChannelEndpoint : public QObject
{
    Q_OBJECT

public:
    static constexpr qint64 kWouldBlock = -1;
    static constexpr qint64 kError = -2;

    using QObject::QObject;

    // A datagram endpoint (UDP) keeps message boundaries: the channel carries one datagram per
    // data message and drops, never queues, what does not fit.
    virtual ChannelTransport transport() const { return ChannelTransport::Tcp; }

    // For a channel the peer opened: reach the target; emits connected() or connectFailed().
    virtual void connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                                    int timeoutMs) = 0;
    // > 0: bytes read (for a datagram endpoint, one whole datagram); 0: end of stream;
    // kWouldBlock: nothing now; kError: see errorString().
    virtual qint64 read(char *buffer, qint64 maxSize) = 0;
    // As read(), into a new array: `headroom` bytes left for the caller (a Data message's
    // header), then what was read. An endpoint that holds its bytes laid out so already (a relay)
    // hands them over without copying them.
    virtual qint64 readWithHeadroom(QByteArray &out, qsizetype headroom, qint64 maxSize)
    {
        out = QByteArray(headroom + maxSize, Qt::Uninitialized);
        const qint64 n = read(out.data() + headroom, maxSize);
        if (n > 0)
            out.truncate(headroom + n);
        return n;
    }
    // How many bytes were taken now (the rest is queued and reported through bytesWritten()),
    // or kError. A datagram endpoint takes the whole datagram or drops it (returns 0), and
    // never queues.
    virtual qint64 write(QByteArrayView data) = 0;
    // True for an endpoint that keeps what is written to it until it is read (a relay): it is
    // then handed whole received messages, where the link can give them away (writeMessage).
    virtual bool keepsWrites() const { return false; }
    // As write() of message from payloadOffset on, keeping the message instead of copying.
    virtual qint64 writeMessage(QByteArray message, qsizetype payloadOffset)
    {
        return write(QByteArrayView(message).sliced(payloadOffset));
    }
    virtual qint64 bytesToWrite() const = 0;
    // readyRead() is emitted only while reading is enabled: a channel without credit stops it.
    virtual void setReadEnabled(bool enabled) = 0;
    // No more bytes will be written (the peer's fin), once the queue is out.
    virtual void shutdownWrite() = 0;
    // Ends at once, so the other party sees an abort rather than an orderly end.
    virtual void abort() = 0;
    // Ends in order.
    virtual void close() = 0;
    // Who is on the other side of this endpoint, for logs and the traffic views.
    virtual QString peerAddress() const = 0;
    virtual QString errorString() const = 0;

Q_SIGNALS:
    void connected();
    void connectFailed(wstunnel::FailureCode code, const QString &reason);
    void readyRead();
    void bytesWritten(qint64 bytes);
    void errorOccurred(const QString &reason);
};

} // namespace wstunnel
