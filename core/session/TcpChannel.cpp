#include "TcpChannel.h"

#include "Logging.h"
#include "TargetPolicy.h"
#include "TunnelSession.h"
#include "net/StreamSocket.h"
#include "protocol/MessageCodec.h"

#include <algorithm>
#include <utility>

namespace wstunnel {

namespace {
// Reads per readiness notification, so one busy channel cannot monopolise the event loop.
constexpr int kReadsPerWakeup = 4;
} // namespace

TcpChannel::TcpChannel(TunnelSession *session, quint32 id, StreamSocket *socket,
                       const QString &peer, const QString &target, quint32 receiveWindow)
    : QObject(session)
    , m_session(session)
    , m_id(id)
    , m_socket(socket)
    , m_peer(peer)
    , m_target(target)
    , m_window(receiveWindow)
{
    m_age.start();
    m_socket->setParent(this);
    m_socket->setReadEnabled(false);
    connect(m_socket, &StreamSocket::readyRead, this, &TcpChannel::readLocal);
    connect(m_socket, &StreamSocket::bytesWritten, this, &TcpChannel::consumed);
    connect(m_socket, &StreamSocket::errorOccurred, this, [this](const QString &reason) {
        reset(FailureCode::IoError, QStringLiteral("writing to %1 failed: %2").arg(m_peer, reason));
    });
}

ChannelSummary TcpChannel::summary() const
{
    return ChannelSummary{m_id, m_peer, m_target, m_bytesIn, m_bytesOut, m_age.elapsed(), m_error};
}

void TcpChannel::abortChannel(const QString &reason)
{
    reset(FailureCode::Shutdown, reason);
}

void TcpChannel::connectTarget(const TargetResolution &resolution, int timeoutMs)
{
    if (m_state != State::Opening)
        return;
    if (resolution.addresses.isEmpty()) {
        m_session->send(MessageCodec::openFailed(m_id, resolution.code, resolution.reason));
        finish(QStringLiteral("%1: %2").arg(failureCodeName(resolution.code), resolution.reason));
        return;
    }
    connect(m_socket, &StreamSocket::connected, this, [this] {
        if (m_state != State::Opening)
            return;
        m_state = State::Open;
        m_session->send(MessageCodec::openOk(m_id, m_window.receiveWindow()));
        if (!m_earlyData.isEmpty() && !deliver(std::exchange(m_earlyData, QByteArray())).isEmpty())
            return;
        m_socket->setReadEnabled(true);
        Q_EMIT opened();
    });
    connect(m_socket, &StreamSocket::connectFailed, this,
            [this](FailureCode code, const QString &reason) {
                if (m_state != State::Opening)
                    return;
                const QString text = QStringLiteral("%1: %2").arg(m_target, reason);
                m_session->send(MessageCodec::openFailed(m_id, code, text));
                finish(text);
            });
    m_socket->connectToAddresses(resolution.addresses, resolution.port, timeoutMs);
}

void TcpChannel::sendEarly(quint32 window)
{
    if (m_state != State::Opening)
        return;
    m_sendsEarly = true;
    m_window.setPeerWindow(window);
    m_socket->setReadEnabled(true);
}

void TcpChannel::handleOpenOk(quint32 window)
{
    if (m_state != State::Opening)
        return;
    m_window.setPeerWindow(window);
    m_state = State::Open;
    // A fin waits for open-ok: the far side may still be connecting.
    if (m_localEof)
        m_session->send(MessageCodec::fin(m_id, m_window.sentOffset()));
    else
        m_socket->setReadEnabled(true);
    Q_EMIT opened();
}

void TcpChannel::handleOpenFailed(FailureCode code, const QString &reason)
{
    Q_UNUSED(code)
    m_socket->abort();
    finish(reason);
}

QString TcpChannel::handleData(quint64 offset, QByteArrayView payload)
{
    if (m_state == State::Opening && m_earlyReceiveLimit > 0) {
        if (offset + quint64(payload.size()) > m_earlyReceiveLimit ||
            !m_window.acceptIncoming(offset, quint64(payload.size())))
            return QStringLiteral("data on channel %1 at offset %2+%3 before open-ok, beyond the "
                                  "%4 bytes allowed then (expected offset %5)")
                .arg(m_id)
                .arg(offset)
                .arg(payload.size())
                .arg(m_earlyReceiveLimit)
                .arg(m_window.receivedOffset());
        m_earlyData.append(payload.data(), payload.size());
        return QString();
    }
    if (m_state != State::Open)
        return QStringLiteral("data on channel %1 before it was open").arg(m_id);
    if (m_remoteFin)
        return QStringLiteral("data on channel %1 after its fin").arg(m_id);
    if (!m_window.acceptIncoming(offset, quint64(payload.size())))
        return QStringLiteral("data on channel %1 at offset %2+%3 outside the window "
                              "(expected offset %4, consumed %5, window %6)")
            .arg(m_id)
            .arg(offset)
            .arg(payload.size())
            .arg(m_window.receivedOffset())
            .arg(m_window.consumedOffset())
            .arg(m_window.receiveWindow());
    deliver(payload);
    return QString();
}

// Writes received payload to the local socket; a failure resets the channel and is returned.
QString TcpChannel::deliver(QByteArrayView payload)
{
    m_bytesIn += quint64(payload.size());
    const qint64 written = m_socket->write(payload);
    if (written == StreamSocket::kError) {
        const QString reason =
            QStringLiteral("writing to %1 failed: %2").arg(m_peer, m_socket->errorString());
        reset(FailureCode::IoError, reason);
        return reason;
    }
    consumed(written);
    return QString();
}

QString TcpChannel::handleCredit(quint64 consumedOffset, quint32 window)
{
    if (m_state == State::Closed)
        return QString();
    if (!m_window.applyCredit(consumedOffset, window))
        return QStringLiteral("credit on channel %1 for offset %2, but %3 bytes were sent")
            .arg(m_id)
            .arg(consumedOffset)
            .arg(m_window.sentOffset());
    resumeReading();
    return QString();
}

QString TcpChannel::handleFin(quint64 finalOffset)
{
    if (m_state != State::Open)
        return QStringLiteral("fin on channel %1 before it was open").arg(m_id);
    if (m_remoteFin || finalOffset != m_window.receivedOffset())
        return QStringLiteral("fin on channel %1 at offset %2, but %3 bytes were received")
            .arg(m_id)
            .arg(finalOffset)
            .arg(m_window.receivedOffset());
    m_remoteFin = true;
    m_socket->shutdownWrite();
    maybeFinish();
    return QString();
}

void TcpChannel::handleReset(FailureCode code, const QString &reason)
{
    m_socket->abort();
    finish(QStringLiteral("reset by peer (%1): %2").arg(failureCodeName(code), reason));
}

void TcpChannel::resumeReading()
{
    if (sending() && !m_localEof && m_window.sendable() > 0)
        m_socket->setReadEnabled(true);
}

bool TcpChannel::sending() const
{
    return m_state == State::Open || (m_state == State::Opening && m_sendsEarly);
}

void TcpChannel::drop(const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_socket->abort();
    finish(reason);
}

void TcpChannel::readLocal()
{
    for (int i = 0; i < kReadsPerWakeup; ++i) {
        if (!sending() || m_localEof) {
            m_socket->setReadEnabled(false);
            return;
        }
        const quint64 allowed = m_window.sendable();
        if (allowed == 0 || !m_session->canSend()) {
            // Credit or the WebSocket's drain resumes us.
            m_socket->setReadEnabled(false);
            return;
        }
        const qint64 chunk = qint64(
            std::min({allowed, quint64(m_session->limits().chunkSize),
                      quint64(m_session->peerMaxMessageSize() - protocol::kDataHeaderSize)}));
        QByteArray message(protocol::kDataHeaderSize + chunk, Qt::Uninitialized);
        const qint64 n = m_socket->read(message.data() + protocol::kDataHeaderSize, chunk);
        if (n > 0) {
            message.truncate(protocol::kDataHeaderSize + n);
            MessageCodec::writeDataHeader(message.data(), m_id, m_window.sentOffset());
            m_window.recordSent(quint64(n));
            m_bytesOut += quint64(n);
            m_session->send(std::move(message));
            if (n < chunk)
                return;
            continue;
        }
        if (n == 0) {
            m_localEof = true;
            m_socket->setReadEnabled(false);
            if (m_state == State::Opening)
                return;
            m_session->send(MessageCodec::fin(m_id, m_window.sentOffset()));
            maybeFinish();
            return;
        }
        if (n == StreamSocket::kError)
            reset(
                FailureCode::IoError,
                QStringLiteral("reading from %1 failed: %2").arg(m_peer, m_socket->errorString()));
        return;
    }
}

void TcpChannel::consumed(qint64 bytes)
{
    if (m_state == State::Closed)
        return;
    if (bytes > 0) {
        m_window.recordConsumed(quint64(bytes));
        if (!m_remoteFin && m_window.creditDue()) {
            m_session->send(
                MessageCodec::credit(m_id, m_window.takeCredit(), m_window.receiveWindow()));
        }
    }
    maybeFinish();
}

void TcpChannel::reset(FailureCode code, const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_session->send(MessageCodec::reset(m_id, code, reason));
    m_socket->abort();
    finish(reason);
}

void TcpChannel::maybeFinish()
{
    if (m_state == State::Open && m_localEof && m_remoteFin && m_socket->bytesToWrite() == 0) {
        m_socket->close();
        finish(QString());
    }
}

void TcpChannel::finish(const QString &error)
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_error = error;
    m_session->channelFinished(this);
}

} // namespace wstunnel
