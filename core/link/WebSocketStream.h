#pragma once

#include "protocol/FrameReader.h"
#include "protocol/WebSocketFrame.h"

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QWebSocketProtocol>

#include <deque>

class QAbstractSocket;
class QWebSocket;

namespace wstunnel {

// Writes and reads the frames of an open WebSocket on its TCP or TLS socket, bypassing
// QWebSocket's per-byte masking and its copies (docs/PERFORMANCE.md, "Profile findings").
// QWebSocket keeps the handshake, pings it sends and closing; it writes each of its frames whole
// and synchronously, so its frames and ours never interleave. Reading is taken over once a
// message has been received through QWebSocket, when its frame parser is between frames.
class WebSocketStream : public QObject
{
    Q_OBJECT

public:
    // transport is the socket the WebSocket runs on; without one everything goes through
    // QWebSocket. A client masks every frame it sends (RFC 6455 section 5.3).
    WebSocketStream(QWebSocket *webSocket, QAbstractSocket *transport, bool mask,
                    quint32 maxMessageSize, QObject *parent = nullptr);

    void sendBinary(QByteArray message);
    // Call from a handler of QWebSocket::binaryMessageReceived; later frames arrive as signals of
    // this object.
    void takeOverReading();
    bool readsFrames() const { return m_reading; }
    // Stops delivering messages, e.g. once the session has ended.
    void stop() { m_reader.stop(); }
    // See FrameReader::takeMessage().
    QByteArray takeReceivedMessage(QByteArrayView part) { return m_reader.takeMessage(part); }

Q_SIGNALS:
    // The view is valid during the emission only.
    void binaryMessageReceived(QByteArrayView message);
    void textMessageReceived();
    void pongReceived();
    void failed(QWebSocketProtocol::CloseCode code, const QString &reason);

private:
    struct OutgoingFrame
    {
        char header[WebSocketFrame::kMaxHeaderSize];
        int headerSize = 0;
        QByteArray payload; // unmasked
        quint32 maskKey = 0;
        qsizetype written = 0; // of the payload
    };

    void readTransport();
    void writeFrame(quint8 opCode, QByteArray payload);
    void writeBuffered(OutgoingFrame frame);
    bool directIo() const;
    qint64 readSome(char *buffer, qint64 maxSize);

    QWebSocket *m_webSocket;
    QPointer<QAbstractSocket> m_transport;
    // Descriptor of a plain, unproxied TCP transport, read and written directly whenever Qt's
    // buffers are empty: that saves copying every byte through them. -1 for TLS or a proxy.
    int m_descriptor = -1;
    bool m_tls;
    bool m_mask;
    QByteArray m_maskBuffer; // masked payloads are written from here
    bool m_reading = false;
    // Frames waiting for writeBuffered() further up the stack, which is flushing a frame through
    // TLS: a frame sent from a signal emitted meanwhile must not land inside that frame.
    std::deque<OutgoingFrame> m_outgoing;
    bool m_flushing = false;
    bool m_inRead = false;
    bool m_readPending = false; // readyRead arrived while flushing or reading
    FrameReader m_reader;       // a child, so that it follows this object to another thread
};

} // namespace wstunnel
