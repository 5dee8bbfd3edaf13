#include "MemoryDatagramEndpoint.h"

#include <QMetaObject>

#include <cstring>

using namespace wstunnel;

MemoryDatagramEndpoint::MemoryDatagramEndpoint(QObject *parent)
    : ChannelEndpoint(parent)
{
}

void MemoryDatagramEndpoint::feed(const QByteArray &datagram)
{
    m_input.append(datagram);
    announceReadable();
}

void MemoryDatagramEndpoint::connectToAddresses(const QList<QHostAddress> &, quint16, int)
{
    if (!m_connectPending)
        QMetaObject::invokeMethod(this, &MemoryDatagramEndpoint::connected, Qt::QueuedConnection);
}

qint64 MemoryDatagramEndpoint::read(char *buffer, qint64 maxSize)
{
    if (m_input.isEmpty())
        return kWouldBlock;
    const QByteArray datagram = m_input.takeFirst();
    Q_ASSERT(datagram.size() <= maxSize);
    std::memcpy(buffer, datagram.constData(), size_t(datagram.size()));
    return datagram.size();
}

qint64 MemoryDatagramEndpoint::write(QByteArrayView data)
{
    if (m_dropping)
        return 0;
    m_written.append(data.toByteArray());
    return data.size();
}

void MemoryDatagramEndpoint::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    announceReadable();
}

void MemoryDatagramEndpoint::announceReadable()
{
    if (!m_readEnabled || m_readablePending || m_input.isEmpty())
        return;
    m_readablePending = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_readablePending = false;
            if (!m_readEnabled || m_input.isEmpty())
                return;
            Q_EMIT readyRead();
            // Level-triggered, as a socket notifier is: what is left is announced again.
            announceReadable();
        },
        Qt::QueuedConnection);
}
