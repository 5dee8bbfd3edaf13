#include "MemoryEndpoint.h"

#include <QMetaObject>

#include <cstring>

using namespace wstunnel;

MemoryEndpoint::MemoryEndpoint(QObject *parent)
    : ChannelEndpoint(parent)
{
}

void MemoryEndpoint::feed(const QByteArray &bytes)
{
    m_input.append(bytes);
    announceReadable();
}

void MemoryEndpoint::finishInput()
{
    m_inputFinished = true;
    announceReadable();
}

void MemoryEndpoint::setStalled(bool stalled)
{
    m_stalled = stalled;
    if (stalled || m_queue.isEmpty())
        return;
    const qint64 taken = m_queue.size();
    m_written.append(std::exchange(m_queue, {}));
    Q_EMIT bytesWritten(taken);
}

void MemoryEndpoint::connectToAddresses(const QList<QHostAddress> &, quint16, int)
{
    m_connectAsked = true;
    // As a socket would: the answer comes from the event loop, never from inside the call.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_outcome == ConnectOutcome::Succeed)
                Q_EMIT connected();
            else if (m_outcome == ConnectOutcome::Refuse)
                Q_EMIT connectFailed(FailureCode::Refused, QStringLiteral("connection refused"));
        },
        Qt::QueuedConnection);
}

qint64 MemoryEndpoint::read(char *buffer, qint64 maxSize)
{
    if (m_input.isEmpty())
        return m_inputFinished ? 0 : kWouldBlock;
    const qint64 n = qMin<qint64>(maxSize, m_input.size());
    std::memcpy(buffer, m_input.constData(), size_t(n));
    m_input.remove(0, n);
    return n;
}

qint64 MemoryEndpoint::write(QByteArrayView data)
{
    if (m_stalled || !m_queue.isEmpty()) {
        m_queue.append(data.data(), data.size());
        return 0;
    }
    m_written.append(data.data(), data.size());
    return data.size();
}

void MemoryEndpoint::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    announceReadable();
}

void MemoryEndpoint::announceReadable()
{
    if (!m_readEnabled || m_readablePending || (m_input.isEmpty() && !m_inputFinished))
        return;
    m_readablePending = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_readablePending = false;
            if (!m_readEnabled || (m_input.isEmpty() && !m_inputFinished))
                return;
            Q_EMIT readyRead();
            // Level-triggered, as a socket notifier is: what is left is announced again.
            announceReadable();
        },
        Qt::QueuedConnection);
}
