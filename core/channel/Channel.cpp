#include "Channel.h"

#include "ChannelEndpoint.h"
#include "ChannelHost.h"
#include "Logging.h"
#include "protocol/MessageCodec.h"
#include "session/TargetPolicy.h"

#include <QStringList>

#include <algorithm>
#include <cstring>
#include <utility>

namespace wstunnel {

namespace {
// Reads per readiness notification, so one busy channel cannot monopolise the event loop.
constexpr int kReadsPerWakeup = 4;
// Datagrams are small and cheap to read; more of them per wakeup keep up with a busy source.
constexpr int kDatagramsPerWakeup = 32;
} // namespace

Channel::Channel(ChannelHost *host, quint32 id, ChannelEndpoint *endpoint, const QString &peer,
                 const QString &target, quint32 receiveWindow, QObject *parent)
    : QObject(parent)
    , m_host(host)
    , m_id(id)
    , m_endpoint(endpoint)
    , m_peer(peer)
    , m_target(target)
    , m_window(receiveWindow)
    , m_datagram(endpoint->transport() == ChannelTransport::Udp ? new DatagramState : nullptr)
{
    m_age.start();
    m_endpoint->setParent(this);
    m_endpoint->setReadEnabled(false);
    connect(m_endpoint, &ChannelEndpoint::readyRead, this, &Channel::readLocal);
    connect(m_endpoint, &ChannelEndpoint::bytesWritten, this, &Channel::consumed);
    connect(m_endpoint, &ChannelEndpoint::errorOccurred, this, [this](const QString &reason) {
        reset(FailureCode::IoError, QStringLiteral("writing to %1 failed: %2").arg(m_peer, reason));
    });
    qCDebug(lcSession).noquote() << label() << QStringLiteral("opening");
}

// The per-channel debug lines (--verbose) start with what the info lines name the channel by.
QString Channel::label() const
{
    return QStringLiteral("channel %1 %2 -> %3:").arg(m_id).arg(m_peer, m_target);
}

ChannelSummary Channel::summary() const
{
    ChannelSummary s{m_id, m_peer, m_target, m_bytesIn, m_bytesOut, m_age.elapsed(), m_error};
    s.datagram = m_datagram != nullptr;
    s.datagramsIn = datagramsIn();
    s.datagramsOut = datagramsOut();
    s.droppedIn = droppedIn();
    s.droppedOut = droppedOut();
    return s;
}

void Channel::abortChannel(const QString &reason)
{
    reset(FailureCode::Shutdown, reason);
}

void Channel::endFlow(FailureCode code, const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_host->sendMessage(MessageCodec::reset(m_id, code, reason));
    m_endpoint->abort();
    finish(code == FailureCode::TimedOut ? QString() : reason);
}

void Channel::connectTarget(const TargetResolution &resolution, int timeoutMs)
{
    if (m_state != State::Opening)
        return;
    if (resolution.addresses.isEmpty()) {
        qCDebug(lcSession).noquote()
            << label()
            << QStringLiteral("open refused here (%1): %2")
                   .arg(failureCodeName(resolution.code), resolution.reason);
        m_host->sendMessage(MessageCodec::openFailed(m_id, resolution.code, resolution.reason));
        Q_EMIT openFailed(resolution.code);
        finish(QStringLiteral("%1: %2").arg(failureCodeName(resolution.code), resolution.reason));
        return;
    }
    connect(m_endpoint, &ChannelEndpoint::connected, this, [this] {
        if (m_state != State::Opening)
            return;
        m_state = State::Open;
        qCDebug(lcSession).noquote() << label() << QStringLiteral("target connected, open-ok sent");
        m_host->sendMessage(MessageCodec::openOk(m_id, m_window.receiveWindow()));
        if (!m_earlyData.isEmpty() && !deliver(std::exchange(m_earlyData, QByteArray())).isEmpty())
            return;
        if (m_datagram) {
            for (const QByteArray &datagram : std::exchange(m_datagram->early, {})) {
                if (!deliverDatagram(datagram).isEmpty())
                    return;
            }
        }
        m_endpoint->setReadEnabled(true);
        Q_EMIT opened();
    });
    connect(m_endpoint, &ChannelEndpoint::connectFailed, this,
            [this](FailureCode code, const QString &reason) {
                if (m_state != State::Opening)
                    return;
                const QString text = QStringLiteral("%1: %2").arg(m_target, reason);
                qCDebug(lcSession).noquote()
                    << label()
                    << QStringLiteral("open failed (%1): %2").arg(failureCodeName(code), reason);
                m_host->sendMessage(MessageCodec::openFailed(m_id, code, text));
                Q_EMIT openFailed(code);
                finish(text);
            });
    QStringList addresses;
    for (const QHostAddress &address : resolution.addresses)
        addresses.append(address.toString());
    qCDebug(lcSession).noquote() << label()
                                 << QStringLiteral("connecting to %1 port %2")
                                        .arg(addresses.join(QStringLiteral(", ")))
                                        .arg(resolution.port);
    m_endpoint->connectToAddresses(resolution.addresses, resolution.port, timeoutMs);
}

void Channel::sendEarly(quint32 window)
{
    if (m_state != State::Opening)
        return;
    m_sendsEarly = true;
    m_window.setPeerWindow(window);
    m_endpoint->setReadEnabled(true);
}

void Channel::handleOpenOk(quint32 window)
{
    if (m_state != State::Opening)
        return;
    m_window.setPeerWindow(window);
    m_state = State::Open;
    qCDebug(lcSession).noquote()
        << label() << QStringLiteral("open-ok from the peer, window %1 B").arg(window);
    if (m_datagram) {
        m_datagram->heldBytes = 0;
        for (const QByteArray &datagram : std::exchange(m_datagram->held, {}))
            sendDatagram(datagram);
    }
    // A fin waits for open-ok: the far side may still be connecting.
    if (m_localEof)
        m_host->sendMessage(MessageCodec::fin(m_id, m_window.sentOffset()));
    else
        m_endpoint->setReadEnabled(true);
    Q_EMIT opened();
}

void Channel::handleOpenFailed(FailureCode code, const QString &reason)
{
    qCDebug(lcSession).noquote()
        << label()
        << QStringLiteral("open failed at the peer (%1): %2").arg(failureCodeName(code), reason);
    Q_EMIT openFailed(code);
    m_endpoint->abort();
    finish(reason);
}

QString Channel::handleData(quint64 offset, QByteArrayView payload)
{
    if (m_datagram && (payload.isEmpty() || payload.size() > protocol::kMaxDatagramSize))
        return QStringLiteral("datagram of %1 bytes on channel %2 (1 to %3 allowed)")
            .arg(payload.size())
            .arg(m_id)
            .arg(protocol::kMaxDatagramSize);
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
        if (m_datagram)
            m_datagram->early.append(payload.toByteArray());
        else
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
    if (m_datagram) {
        deliverDatagram(payload);
        return QString();
    }
    if (m_tuner)
        m_tuner->dataReceived(m_window.receivedOffset());
    deliver(payload);
    return QString();
}

// Writes received payload to the local socket; a failure resets the channel and is returned.
QString Channel::deliver(QByteArrayView payload)
{
    m_bytesIn += quint64(payload.size());
    QByteArray message =
        m_endpoint->keepsWrites() ? m_host->takeReceivedMessage(payload) : QByteArray();
    qint64 written;
    if (message.isNull()) {
        written = m_endpoint->write(payload);
    } else {
        const qsizetype payloadOffset = payload.data() - message.constData();
        written = m_endpoint->writeMessage(std::move(message), payloadOffset);
    }
    if (written == ChannelEndpoint::kError) {
        const QString reason =
            QStringLiteral("writing to %1 failed: %2").arg(m_peer, m_endpoint->errorString());
        reset(FailureCode::IoError, reason);
        return reason;
    }
    consumed(written);
    return QString();
}

// Hands one datagram to the local side. A datagram the endpoint could not take is dropped, and
// counts as consumed all the same: credit must not wait for what will never be written.
QString Channel::deliverDatagram(QByteArrayView datagram)
{
    m_host->datagramActivity(this);
    const qint64 written = m_endpoint->write(datagram);
    if (written == ChannelEndpoint::kError) {
        const QString reason =
            QStringLiteral("writing to %1 failed: %2").arg(m_peer, m_endpoint->errorString());
        reset(FailureCode::IoError, reason);
        return reason;
    }
    if (written == datagram.size()) {
        ++m_datagram->in;
        m_bytesIn += quint64(datagram.size());
    } else {
        ++m_datagram->droppedIn;
    }
    consumed(datagram.size());
    return QString();
}

QString Channel::handleCredit(quint64 consumedOffset, quint32 window)
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

QString Channel::handleFin(quint64 finalOffset)
{
    if (m_datagram)
        return QStringLiteral("fin on datagram channel %1, which has no half-close").arg(m_id);
    if (m_state != State::Open)
        return QStringLiteral("fin on channel %1 before it was open").arg(m_id);
    if (m_remoteFin || finalOffset != m_window.receivedOffset())
        return QStringLiteral("fin on channel %1 at offset %2, but %3 bytes were received")
            .arg(m_id)
            .arg(finalOffset)
            .arg(m_window.receivedOffset());
    m_remoteFin = true;
    qCDebug(lcSession).noquote() << label()
                                 << QStringLiteral("fin from the peer after %1 B").arg(finalOffset);
    m_endpoint->shutdownWrite();
    maybeFinish();
    return QString();
}

void Channel::handleReset(FailureCode code, const QString &reason)
{
    qCDebug(lcSession).noquote()
        << label()
        << QStringLiteral("reset by the peer (%1): %2").arg(failureCodeName(code), reason);
    m_endpoint->abort();
    // The peer's idle expiry is how flows normally end.
    if (m_datagram && code == FailureCode::TimedOut)
        finish(QString());
    else
        finish(QStringLiteral("reset by peer (%1): %2").arg(failureCodeName(code), reason));
}

void Channel::resumeReading()
{
    if (sending() && !m_localEof && m_window.sendable() > 0)
        m_endpoint->setReadEnabled(true);
}

bool Channel::sending() const
{
    return m_state == State::Open || (m_state == State::Opening && m_sendsEarly);
}

void Channel::drop(const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_endpoint->abort();
    finish(reason);
}

void Channel::readLocal()
{
    if (m_datagram) {
        readDatagrams();
        return;
    }
    for (int i = 0; i < kReadsPerWakeup; ++i) {
        if (!sending() || m_localEof) {
            m_endpoint->setReadEnabled(false);
            return;
        }
        const quint64 allowed = m_window.sendable();
        if (allowed == 0 || !m_host->canSend()) {
            // Credit or the WebSocket's drain resumes us.
            m_endpoint->setReadEnabled(false);
            return;
        }
        const qint64 chunk = qint64(std::min(allowed, quint64(m_host->maxPayloadSize())));
        QByteArray message;
        const qint64 n = m_endpoint->readWithHeadroom(message, protocol::kDataHeaderSize, chunk);
        if (n > 0) {
            MessageCodec::writeDataHeader(message.data(), m_id, m_window.sentOffset());
            m_window.recordSent(quint64(n));
            m_bytesOut += quint64(n);
            m_host->sendMessage(std::move(message));
            if (n < chunk)
                return;
            continue;
        }
        if (n == 0) {
            m_localEof = true;
            qCDebug(lcSession).noquote()
                << label()
                << QStringLiteral("fin from %1 after %2 B")
                       .arg(m_peer, QString::number(m_window.sentOffset()));
            m_endpoint->setReadEnabled(false);
            if (m_state == State::Opening)
                return;
            m_host->sendMessage(MessageCodec::fin(m_id, m_window.sentOffset()));
            maybeFinish();
            return;
        }
        if (n == ChannelEndpoint::kError)
            reset(FailureCode::IoError, QStringLiteral("reading from %1 failed: %2")
                                            .arg(m_peer, m_endpoint->errorString()));
        return;
    }
}

// Reads whole datagrams and sends or drops each at once: a datagram source never waits for
// credit or the link, so it is read even when nothing can be sent.
void Channel::readDatagrams()
{
    // One buffer for every channel of the thread: a datagram is copied out at its own size.
    thread_local QByteArray buffer(protocol::kMaxDatagramSize, Qt::Uninitialized);
    for (int i = 0; i < kDatagramsPerWakeup; ++i) {
        if (!sending()) {
            m_endpoint->setReadEnabled(false);
            return;
        }
        const qint64 n = m_endpoint->read(buffer.data(), buffer.size());
        if (n == ChannelEndpoint::kError) {
            reset(FailureCode::IoError, QStringLiteral("reading from %1 failed: %2")
                                            .arg(m_peer, m_endpoint->errorString()));
            return;
        }
        if (n <= 0)
            return;
        m_host->datagramActivity(this);
        const QByteArrayView datagram(buffer.constData(), n);
        if (m_state == State::Opening && (!m_datagram->held.isEmpty() || !fits(n))) {
            // Kept in order for open-ok, up to one largest datagram's worth.
            if (m_datagram->heldBytes + n <= protocol::kMaxDatagramSize &&
                n <= m_host->maxDatagramSize()) {
                m_datagram->held.append(datagram.toByteArray());
                m_datagram->heldBytes += n;
            } else {
                ++m_datagram->droppedOut;
            }
            continue;
        }
        sendDatagram(datagram);
    }
}

bool Channel::fits(qint64 size) const
{
    return quint64(size) <= m_window.sendable() && size <= m_host->maxDatagramSize() &&
           m_host->canSendDatagram();
}

void Channel::sendDatagram(QByteArrayView datagram)
{
    if (!fits(datagram.size())) {
        ++m_datagram->droppedOut;
        return;
    }
    QByteArray message(protocol::kDataHeaderSize + datagram.size(), Qt::Uninitialized);
    MessageCodec::writeDataHeader(message.data(), m_id, m_window.sentOffset());
    memcpy(message.data() + protocol::kDataHeaderSize, datagram.data(), size_t(datagram.size()));
    m_window.recordSent(quint64(datagram.size()));
    m_bytesOut += quint64(datagram.size());
    ++m_datagram->out;
    m_host->sendMessage(std::move(message));
}

void Channel::consumed(qint64 bytes)
{
    if (m_state == State::Closed)
        return;
    if (bytes > 0) {
        m_window.recordConsumed(quint64(bytes));
        // Datagram channels drop what does not fit rather than wait for credit: a larger window
        // would not make them faster.
        if (!m_tuner && !m_datagram && m_state == State::Open &&
            m_window.consumedOffset() >= ReceiveWindowTuner::kLocalBufferAllowance) {
            if (ReceiveWindowTuner::Context *tuning = m_host->receiveWindowTuning())
                m_tuner = std::make_unique<ReceiveWindowTuner>(*tuning, m_window.receiveWindow());
        }
        const bool grew =
            m_tuner && m_tuner->consumed(m_window.consumedOffset(), m_window.buffered());
        if (!m_remoteFin && (grew || m_window.creditDue()))
            sendCredit();
    }
    maybeFinish();
}

void Channel::sendCredit()
{
    if (m_tuner) {
        const quint32 window =
            m_tuner->windowForCredit(m_window.consumedOffset(), m_window.grantedLimit());
        if (window != m_window.receiveWindow())
            qCDebug(lcSession).noquote()
                << label() << QStringLiteral("receive window %1 B").arg(window);
        m_window.setReceiveWindow(window);
    }
    m_host->sendMessage(
        MessageCodec::credit(m_id, m_window.takeCredit(), m_window.receiveWindow()));
}

void Channel::reset(FailureCode code, const QString &reason)
{
    if (m_state == State::Closed)
        return;
    qCDebug(lcSession).noquote()
        << label() << QStringLiteral("resetting (%1): %2").arg(failureCodeName(code), reason);
    m_host->sendMessage(MessageCodec::reset(m_id, code, reason));
    m_endpoint->abort();
    finish(reason);
}

void Channel::maybeFinish()
{
    if (m_state == State::Open && m_localEof && m_remoteFin && m_endpoint->bytesToWrite() == 0) {
        m_endpoint->close();
        finish(QString());
    }
}

void Channel::finish(const QString &error)
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_error = error;
    // Its share of the budgets goes back now: the channel object may outlive its session.
    m_tuner.reset();
    m_host->channelFinished(this);
}

} // namespace wstunnel
