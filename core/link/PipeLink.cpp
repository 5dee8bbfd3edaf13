#include "PipeLink.h"

#include <QMetaObject>

namespace wstunnel {

std::pair<PipeLink *, PipeLink *> PipeLink::createPair(QObject *parent)
{
    auto *first = new PipeLink(QStringLiteral("pipe:a"), parent);
    auto *second = new PipeLink(QStringLiteral("pipe:b"), parent);
    first->m_peer = second;
    second->m_peer = first;
    return {first, second};
}

PipeLink::PipeLink(const QString &name, QObject *parent)
    : Link(parent)
    , m_name(name)
{
}

PipeLink::~PipeLink()
{
    if (m_peer)
        m_peer->end(m_open ? QStringLiteral("connection lost") : m_closeReason);
}

void PipeLink::send(QByteArray message)
{
    if (!m_open)
        return;
    ++m_messagesSent;
    m_backlog += message.size();
    m_queue.append(std::move(message));
    scheduleDelivery();
}

void PipeLink::hold(bool held)
{
    m_held = held;
    scheduleDelivery();
}

void PipeLink::scheduleDelivery()
{
    if (m_held || m_deliveryScheduled || m_queue.isEmpty())
        return;
    m_deliveryScheduled = true;
    QMetaObject::invokeMethod(this, &PipeLink::deliver, Qt::QueuedConnection);
}

void PipeLink::deliver()
{
    m_deliveryScheduled = false;
    if (m_held)
        return;
    QPointer<PipeLink> self(this);
    // One message per pass keeps the order of events close to a real wire's.
    if (!m_queue.isEmpty()) {
        const QByteArray message = m_queue.takeFirst();
        m_backlog -= message.size();
        if (m_peer && m_peer->m_open)
            Q_EMIT m_peer->messageReceived(message);
        if (!self)
            return;
        if (m_open)
            Q_EMIT drained();
    }
    if (!self)
        return;
    if (!m_queue.isEmpty()) {
        scheduleDelivery();
    } else if (!m_open && m_peer) {
        // Everything sent before the close has arrived; now the peer sees the end.
        m_peer->end(m_closeReason);
    }
}

void PipeLink::close(LinkEnding ending, const QString &reason)
{
    Q_UNUSED(ending)
    if (!m_open)
        return;
    m_closeReason = QStringLiteral("closed by peer: %1").arg(reason);
    end(reason);
    // What was sent before the close still arrives, as on a WebSocket, then the peer's end.
    m_held = false;
    if (m_queue.isEmpty() && m_peer)
        m_peer->end(m_closeReason);
    else
        scheduleDelivery();
}

void PipeLink::cut(const QString &reason)
{
    m_queue.clear();
    m_backlog = 0;
    QPointer<PipeLink> peer = m_peer;
    end(reason);
    if (peer) {
        peer->m_queue.clear();
        peer->m_backlog = 0;
        peer->end(reason);
    }
}

void PipeLink::end(const QString &reason)
{
    if (!m_open)
        return;
    m_open = false;
    Q_EMIT closed(reason);
}

} // namespace wstunnel
