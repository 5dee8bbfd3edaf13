#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QObject>
#include <QString>

namespace wstunnel {

// How a link is ended, as the wire can tell the peer (a WebSocket close code).
enum class LinkEnding { Orderly, ProtocolError, MessageTooBig };

// What a session talks to its peer through: whole messages in both directions, a backlog for
// backpressure, and an end. The WebSocket link owns the wire (framing, keepalive); the pipe link
// joins two sessions in memory for tests. A session may be detached from one link and attached
// to another, so a link knows nothing of sessions.
class Link : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    virtual void send(QByteArray message) = 0;
    // Bytes accepted by send() that the wire has not taken yet.
    virtual qint64 backlog() const = 0;
    // False once the link has ended; sending then does nothing.
    virtual bool isOpen() const = 0;
    // Where the peer is, for logs: an address:port, or a name for in-memory links.
    virtual QString peerAddress() const = 0;
    // Ends the link, telling the peer how when the wire can; closed() follows.
    virtual void close(LinkEnding ending, const QString &reason) = 0;
    // While messageReceived() is emitted, for a receiver that keeps part of the message (a hub's
    // relay): the message as an array of its own, which the view emitted points into, so that
    // keeping the part costs no copy. Null where the link cannot give it away; then copy.
    virtual QByteArray takeReceivedMessage(QByteArrayView part)
    {
        Q_UNUSED(part)
        return QByteArray();
    }

Q_SIGNALS:
    // The view is valid during the emission only.
    void messageReceived(QByteArrayView message);
    // The backlog went down; senders waiting for it may go on.
    void drained();
    // The peer broke the wire's rules (not the tunnel protocol's): the link ends after this.
    void failed(wstunnel::LinkEnding ending, const QString &reason);
    // The link has ended: the peer closed it, the connection was lost or the peer went silent.
    void closed(const QString &reason);
};

} // namespace wstunnel
