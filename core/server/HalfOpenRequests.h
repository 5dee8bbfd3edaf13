#pragma once

#include <QHostAddress>
#include <QList>
#include <QPointer>
#include <QTcpSocket>

namespace wstunnel {

// Connections whose upgrade request has not been decided yet, capped per source address and in
// total. A full table makes room by dropping the oldest request of the source that holds the
// most, so a flood from one address ages out its own requests and a newcomer still gets in.
class HalfOpenRequests
{
public:
    HalfOpenRequests(int maxPerSource, int maxTotal);

    // Records socket and returns the requests to close to make room for it (never socket). A
    // socket already recorded keeps its place, and nothing is closed.
    QList<QTcpSocket *> add(QTcpSocket *socket);
    bool contains(const QTcpSocket *socket) const;
    void remove(QTcpSocket *socket);
    // Every request still undecided, which a server closes first when descriptors run out.
    QList<QTcpSocket *> takeAll();
    int size();
    int countFrom(const QHostAddress &source);

private:
    struct Request
    {
        QPointer<QTcpSocket> socket;
        QHostAddress source;
    };
    void dropGone();
    qsizetype oldestFrom(const QHostAddress &source) const;

    int m_maxPerSource;
    int m_maxTotal;
    // Oldest first.
    QList<Request> m_requests;
};

} // namespace wstunnel
