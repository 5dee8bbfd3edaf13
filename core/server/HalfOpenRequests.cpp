#include "HalfOpenRequests.h"

#include <QHash>

#include <algorithm>

namespace wstunnel {

HalfOpenRequests::HalfOpenRequests(int maxPerSource, int maxTotal)
    : m_maxPerSource(maxPerSource)
    , m_maxTotal(maxTotal)
{
}

QList<QTcpSocket *> HalfOpenRequests::add(QTcpSocket *socket)
{
    dropGone();
    QList<QTcpSocket *> evicted;
    // A TLS connection is recorded when its handshake starts, and stays recorded as it was.
    if (contains(socket))
        return evicted;
    const QHostAddress source = socket->peerAddress();
    while (countFrom(source) >= m_maxPerSource) {
        const qsizetype oldest = oldestFrom(source);
        evicted.append(m_requests.takeAt(oldest).socket);
    }
    while (m_requests.size() >= m_maxTotal) {
        QHash<QString, int> counts;
        QHostAddress busiest;
        int most = 0;
        for (const Request &request : std::as_const(m_requests)) {
            const int count = ++counts[request.source.toString()];
            if (count > most) {
                most = count;
                busiest = request.source;
            }
        }
        evicted.append(m_requests.takeAt(oldestFrom(busiest)).socket);
    }
    m_requests.append(Request{socket, source});
    return evicted;
}

bool HalfOpenRequests::contains(const QTcpSocket *socket) const
{
    return std::any_of(m_requests.cbegin(), m_requests.cend(),
                       [socket](const Request &request) { return request.socket == socket; });
}

void HalfOpenRequests::remove(QTcpSocket *socket)
{
    m_requests.removeIf([socket](const Request &request) { return request.socket == socket; });
}

QList<QTcpSocket *> HalfOpenRequests::takeAll()
{
    dropGone();
    QList<QTcpSocket *> all;
    for (const Request &request : std::as_const(m_requests))
        all.append(request.socket);
    m_requests.clear();
    return all;
}

int HalfOpenRequests::size()
{
    dropGone();
    return int(m_requests.size());
}

int HalfOpenRequests::countFrom(const QHostAddress &source)
{
    dropGone();
    int count = 0;
    for (const Request &request : std::as_const(m_requests)) {
        if (request.source == source)
            ++count;
    }
    return count;
}

void HalfOpenRequests::dropGone()
{
    m_requests.removeIf([](const Request &request) { return request.socket.isNull(); });
}

qsizetype HalfOpenRequests::oldestFrom(const QHostAddress &source) const
{
    for (qsizetype i = 0; i < m_requests.size(); ++i) {
        if (m_requests.at(i).source == source)
            return i;
    }
    return 0;
}

} // namespace wstunnel
