#include "WebSocketLink.h"

#include "WebSocketStream.h"
#include "config/ForwardSpec.h"

#include <QAbstractSocket>
#include <QWebSocket>

namespace wstunnel {

namespace {

QWebSocketProtocol::CloseCode closeCodeOf(LinkEnding ending)
{
    switch (ending) {
    case LinkEnding::Orderly:
        return QWebSocketProtocol::CloseCodeNormal;
    case LinkEnding::ProtocolError:
        return QWebSocketProtocol::CloseCodeProtocolError;
    case LinkEnding::MessageTooBig:
        return QWebSocketProtocol::CloseCodeTooMuchData;
    }
    return QWebSocketProtocol::CloseCodeNormal;
}

} // namespace

WebSocketLink::WebSocketLink(QWebSocket *socket, const Settings &settings, QObject *parent,
                             QAbstractSocket *transport)
    : Link(parent)
    , m_socket(socket)
    , m_settings(settings)
{
    m_socket->setParent(this);
    // Opens, credits and interactive traffic are small messages: Nagle's algorithm would hold each
    // back until the previous one is acknowledged. A dialing QWebSocket owns its TCP socket.
    if (!transport)
        transport = m_socket->findChild<QAbstractSocket *>();
    if (transport) {
        transport->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        // TLS encrypts into a plain socket beneath the transport, and a proxy's socket engine
        // writes into its own connection: what waits there is backlog too, which the transport's
        // bytesToWrite() does not count (QSslSocket's counts only what it has not yet encrypted).
        m_writeQueues.append(transport);
        for (QAbstractSocket *beneath : transport->findChildren<QAbstractSocket *>())
            m_writeQueues.append(beneath);
        for (const QPointer<QAbstractSocket> &queue : std::as_const(m_writeQueues))
            connect(queue, &QIODevice::bytesWritten, this, &Link::drained);
    }
    m_stream =
        new WebSocketStream(m_socket, transport, settings.isClient, settings.maxMessageSize, this);
    m_socket->setMaxAllowedIncomingMessageSize(settings.maxMessageSize);
    m_socket->setMaxAllowedIncomingFrameSize(settings.maxMessageSize);
    m_peerAddress = m_socket->peerAddress().toString();
    if (m_socket->peerPort() != 0)
        m_peerAddress = formatEndpoint(m_peerAddress, m_socket->peerPort());

    connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &bytes) {
        receive(bytes);
        // QWebSocket reads the first message (the peer's hello); from then on our reader takes
        // the frames.
        if (m_open)
            m_stream->takeOverReading();
    });
    connect(m_stream, &WebSocketStream::binaryMessageReceived, this, &WebSocketLink::receive);
    auto unexpectedText = [this] {
        fail(LinkEnding::ProtocolError, QStringLiteral("unexpected text message"));
    };
    connect(m_socket, &QWebSocket::textMessageReceived, this, unexpectedText);
    connect(m_stream, &WebSocketStream::textMessageReceived, this, unexpectedText);
    connect(m_stream, &WebSocketStream::failed, this,
            [this](QWebSocketProtocol::CloseCode code, const QString &reason) {
                fail(code == QWebSocketProtocol::CloseCodeTooMuchData ? LinkEnding::MessageTooBig
                                                                      : LinkEnding::ProtocolError,
                     reason);
            });
    connect(m_stream, &WebSocketStream::pongReceived, this, [this] { m_lastHeard.start(); });
    connect(m_socket, &QWebSocket::pong, this, [this] { m_lastHeard.start(); });
    if (m_writeQueues.isEmpty())
        connect(m_socket, &QWebSocket::bytesWritten, this, &Link::drained);
    connect(m_socket, &QWebSocket::disconnected, this, [this] {
        QString reason = m_endReason;
        if (reason.isEmpty()) {
            reason = m_socket->closeReason().isEmpty()
                         ? QStringLiteral("connection lost")
                         : QStringLiteral("closed by peer: %1").arg(m_socket->closeReason());
            if (m_socket->closeCode() == QWebSocketProtocol::CloseCodeTooMuchData)
                reason = QStringLiteral("message exceeds the limit of %1 bytes")
                             .arg(m_settings.maxMessageSize);
        }
        end(reason);
    });

    m_lastHeard.start();
    m_keepAliveTimer.setInterval(m_settings.keepAliveMs);
    connect(&m_keepAliveTimer, &QTimer::timeout, this, &WebSocketLink::checkKeepAlive);
    m_keepAliveTimer.start();
}

WebSocketLink::~WebSocketLink()
{
    m_stream->stop();
    m_socket->disconnect(this);
}

void WebSocketLink::send(QByteArray message)
{
    if (m_open)
        m_stream->sendBinary(std::move(message));
}

qint64 WebSocketLink::backlog() const
{
    if (m_writeQueues.isEmpty())
        return m_socket->bytesToWrite();
    qint64 queued = 0;
    for (const QPointer<QAbstractSocket> &queue : m_writeQueues) {
        if (queue)
            queued += queue->bytesToWrite();
    }
    return queued;
}

void WebSocketLink::receive(QByteArrayView message)
{
    if (!m_open)
        return;
    m_lastHeard.start();
    Q_EMIT messageReceived(message);
}

QByteArray WebSocketLink::takeReceivedMessage(QByteArrayView part)
{
    return m_stream->takeReceivedMessage(part);
}

void WebSocketLink::close(LinkEnding ending, const QString &reason)
{
    if (!m_open)
        return;
    m_endReason = reason;
    m_socket->close(closeCodeOf(ending), reason.left(120));
    end(reason);
}

void WebSocketLink::fail(LinkEnding ending, const QString &reason)
{
    if (!m_open)
        return;
    m_stream->stop();
    Q_EMIT failed(ending, reason);
    // The session normally closes the link from its handler; if not, the wire's rules still do.
    close(ending, reason);
}

void WebSocketLink::end(const QString &reason)
{
    if (!m_open)
        return;
    m_open = false;
    m_stream->stop();
    m_keepAliveTimer.stop();
    Q_EMIT closed(reason);
}

void WebSocketLink::checkKeepAlive()
{
    if (m_lastHeard.elapsed() > 3 * qint64(m_settings.keepAliveMs)) {
        const QString reason =
            QStringLiteral("no answer from the peer for %1 s").arg(m_lastHeard.elapsed() / 1000);
        m_endReason = reason;
        m_socket->abort();
        end(reason);
        return;
    }
    m_socket->ping();
}

} // namespace wstunnel
