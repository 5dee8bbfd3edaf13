#include "DatagramFlow.h"

#include "DatagramListener.h"
#include "channel/Channel.h"

#include <cstring>

namespace wstunnel {

DatagramFlow::DatagramFlow(DatagramListener *listener, const SocketAddress &source)
    : m_listener(listener)
    , m_source(source)
    , m_sourceText(source.toString())
{
}

DatagramFlow::~DatagramFlow()
{
    detach();
}

bool DatagramFlow::receive(QByteArrayView datagram)
{
    if (!m_listener || m_queue.size() >= kMaxQueued)
        return false;
    m_queue.append(datagram.toByteArray());
    if (m_readEnabled)
        Q_EMIT readyRead();
    return true;
}

void DatagramFlow::connectToAddresses(const QList<QHostAddress> &, quint16, int)
{
    Q_EMIT connectFailed(FailureCode::NotAllowed,
                         QStringLiteral("a UDP listener's flow does not connect"));
}

qint64 DatagramFlow::read(char *buffer, qint64 maxSize)
{
    if (m_queue.isEmpty())
        return kWouldBlock;
    const QByteArray datagram = m_queue.takeFirst();
    if (datagram.size() > maxSize)
        return kWouldBlock;
    memcpy(buffer, datagram.constData(), size_t(datagram.size()));
    return datagram.size();
}

qint64 DatagramFlow::write(QByteArrayView data)
{
    return m_listener ? m_listener->sendToSource(this, data) : 0;
}

void DatagramFlow::detach()
{
    m_queue.clear();
    if (m_listener)
        m_listener->forgetFlow(this);
    m_listener = nullptr;
}

} // namespace wstunnel
