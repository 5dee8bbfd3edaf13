#pragma once

#include "protocol/WebSocketFrame.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QObject>
#include <QString>
#include <QWebSocketProtocol>

namespace wstunnel {

// Turns the bytes of an open WebSocket into messages, without a socket: the caller reads into the
// reader's own buffer (prepareRead, then commit), so an unfragmented message is unmasked in place
// and delivered from there without a copy. Every violation of RFC 6455 ends the reading with
// failed(); a close frame or a text message ends it too, since our protocol carries neither. After
// that, or after stop(), nothing more is emitted. Deleting the reader from a slot connected to
// its signals is safe; calling commit() or feed() from such a slot is not.
class FrameReader : public QObject
{
    Q_OBJECT

public:
    // Which frames the peer must send (RFC 6455 section 5.1): a client masks every frame, a server
    // none, so a server's reader wants Masked and a client's Unmasked.
    enum class Masking { Masked, Unmasked };

    struct ReadSpace
    {
        char *data;
        qsizetype size;
    };

    // What nextReadSize() asks for when no frame is pending.
    static constexpr qsizetype kReadSize = 256 * 1024;

    FrameReader(quint32 maxMessageSize, Masking incoming, QObject *parent = nullptr);

    // The rest of a frame whose header has arrived and the next header, so that little is left to
    // move to the front of the buffer afterwards; kReadSize when no frame is pending.
    qsizetype nextReadSize() const;
    // Room for at least minimum bytes (more if the buffer has it) at the end of the received data,
    // valid until the next commit() or feed().
    ReadSpace prepareRead(qsizetype minimum);
    // Takes size bytes written at prepareRead()'s space and delivers every complete frame.
    void commit(qsizetype size);
    void feed(QByteArrayView bytes);

    // While binaryMessageReceived() is emitted, for a receiver that keeps part of the message (a
    // relay) instead of copying it: the message as an array of its own, the view emitted pointing
    // into it; the reader reads on into a new buffer. Null where part is not within the message,
    // where taking would not pay (a small message, or much else in the buffer behind it), or
    // outside the emission.
    QByteArray takeMessage(QByteArrayView part);

    void stop() { m_stopped = true; }
    bool isStopped() const { return m_stopped; }

Q_SIGNALS:
    // The view is valid during the emission only.
    void binaryMessageReceived(QByteArrayView message);
    // On the first frame of a text message.
    void textMessageReceived();
    void pingReceived(const QByteArray &payload);
    void pongReceived();
    // The code as sent, CloseCodeMissingStatusCode when the frame carries none. Not a CloseCode:
    // the application codes 3000-4999 lie outside that enum's range.
    void closeReceived(quint16 code, const QString &reason);
    void failed(QWebSocketProtocol::CloseCode code, const QString &reason);

private:
    bool acceptHeader(const WebSocketFrame::Header &header);
    void deliver(const WebSocketFrame::Header &header, char *payload);
    void deliverClose(QByteArrayView payload);
    void fail(QWebSocketProtocol::CloseCode code, const QString &reason);

    quint32 m_maxMessageSize;
    Masking m_incoming;
    bool m_stopped = false;
    QByteArray m_buffer; // [0, m_used) holds received bytes, the rest is room to read into
    qsizetype m_used = 0;
    qsizetype m_parsed = 0; // where the next frame begins, while commit() runs
    // The unfragmented message being emitted, as [begin, end) of m_buffer; end 0 otherwise.
    qsizetype m_deliveringBegin = 0;
    qsizetype m_deliveringEnd = 0;
    qsizetype m_pendingFrameSize = 0; // of the incomplete frame at the front, once its header is in
    QByteArray m_fragments;           // payload of a fragmented message so far
    bool m_inFragmentedMessage = false;
};

} // namespace wstunnel
