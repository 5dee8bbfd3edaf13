#include "SocksEndpoint.h"

#include "net/StreamSocket.h"

#include <algorithm>

namespace wstunnel {

SocksEndpoint::SocksEndpoint(StreamSocket *socket, QObject *parent)
    : ChannelEndpoint(parent)
    , m_socket(socket)
{
    m_socket->setParent(this);
    connect(m_socket, &ChannelEndpoint::readyRead, this, [this] {
        if (m_handshake.state() == SocksHandshake::State::Reading)
            readHandshake();
        else
            Q_EMIT readyRead();
    });
    // The channel counts what reaches the client; the reply is not part of its stream.
    connect(m_socket, &ChannelEndpoint::bytesWritten, this, [this](qint64 bytes) {
        const qint64 reply = std::min(bytes, m_replyBytesQueued);
        m_replyBytesQueued -= reply;
        if (bytes > reply)
            Q_EMIT bytesWritten(bytes - reply);
    });
    connect(m_socket, &ChannelEndpoint::errorOccurred, this, &ChannelEndpoint::errorOccurred);
    m_handshakeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this, [this] {
        failHandshake(
            QStringLiteral("no SOCKS request within %1 s").arg(kHandshakeTimeoutMs / 1000));
    });
    m_handshakeTimer.start(kHandshakeTimeoutMs);
    m_socket->setReadEnabled(true);
}

void SocksEndpoint::readHandshake()
{
    char buffer[512];
    while (m_handshake.state() == SocksHandshake::State::Reading) {
        const qint64 wanted = std::min<qint64>(m_handshake.bytesWanted(), sizeof buffer);
        const qint64 n = m_socket->read(buffer, wanted);
        if (n == kWouldBlock)
            return;
        if (n == 0) {
            failHandshake(QStringLiteral("the client closed the connection during the handshake"));
            return;
        }
        if (n == kError) {
            failHandshake(m_socket->errorString());
            return;
        }
        m_handshake.feed(QByteArrayView(buffer, n));
        sendReply(m_handshake.takeOutput());
    }
    if (m_handshake.state() == SocksHandshake::State::Failed) {
        failHandshake(m_handshake.error());
        return;
    }
    m_handshakeTimer.stop();
    // The channel enables reading once it may send.
    m_socket->setReadEnabled(false);
    Q_EMIT requested();
}

void SocksEndpoint::failHandshake(const QString &reason)
{
    m_handshakeTimer.stop();
    // While the socket is open, so that the log can still name the client.
    Q_EMIT handshakeFailed(reason);
    m_socket->close();
}

void SocksEndpoint::sendReply(const QByteArray &reply)
{
    if (reply.isEmpty())
        return;
    const qint64 taken = m_socket->write(reply);
    if (taken >= 0)
        m_replyBytesQueued += reply.size() - taken;
}

void SocksEndpoint::replyOpened()
{
    sendReply(m_handshake.reply(SocksHandshake::Reply::Succeeded));
}

void SocksEndpoint::replyFailed(FailureCode code)
{
    sendReply(m_handshake.reply(SocksHandshake::replyFor(code)));
    m_refused = true;
}

void SocksEndpoint::refuse(SocksHandshake::Reply code)
{
    sendReply(m_handshake.reply(code));
    m_socket->close();
}

void SocksEndpoint::connectToAddresses(const QList<QHostAddress> &addresses, quint16 port,
                                       int timeoutMs)
{
    Q_UNUSED(addresses)
    Q_UNUSED(port)
    Q_UNUSED(timeoutMs)
    // Only the desktop's listener makes these, and it always opens the channel itself.
    Q_EMIT connectFailed(FailureCode::ProtocolError,
                         QStringLiteral("a SOCKS client connection cannot be a channel's target"));
}

qint64 SocksEndpoint::read(char *buffer, qint64 maxSize)
{
    return m_socket->read(buffer, maxSize);
}

qint64 SocksEndpoint::write(QByteArrayView data)
{
    return m_socket->write(data);
}

qint64 SocksEndpoint::bytesToWrite() const
{
    return m_socket->bytesToWrite() - m_replyBytesQueued;
}

void SocksEndpoint::setReadEnabled(bool enabled)
{
    if (m_handshake.state() == SocksHandshake::State::Requested)
        m_socket->setReadEnabled(enabled);
}

void SocksEndpoint::shutdownWrite()
{
    m_socket->shutdownWrite();
}

void SocksEndpoint::abort()
{
    // After a refusal the client must read the reply, which a reset could discard.
    if (m_refused)
        m_socket->close();
    else
        m_socket->abort();
}

void SocksEndpoint::close()
{
    m_socket->close();
}

QString SocksEndpoint::peerAddress() const
{
    return m_socket->peerAddress();
}

QString SocksEndpoint::errorString() const
{
    return m_socket->errorString();
}

} // namespace wstunnel
