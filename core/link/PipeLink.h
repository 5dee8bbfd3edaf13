#pragma once

#include "Link.h"

#include <QList>
#include <QPointer>

#include <utility>

namespace wstunnel {

// Two links joined in memory: what one end sends, the other receives on its next event-loop
// pass. Lets sessions and channels be tested without sockets; hold() stops delivery so the
// backlog grows, as a slow wire's would.
class PipeLink final : public Link
{
    Q_OBJECT

public:
    // Both ends are owned by parent until a session adopts them.
    static std::pair<PipeLink *, PipeLink *> createPair(QObject *parent = nullptr);
    // The peer sees a lost connection when this end goes away without closing.
    ~PipeLink() override;

    void send(QByteArray message) override;
    qint64 backlog() const override { return m_backlog; }
    bool isOpen() const override { return m_open; }
    QString peerAddress() const override { return m_name; }
    void close(LinkEnding ending, const QString &reason) override;

    // While held, what this end sends stays queued and counts as its backlog.
    void hold(bool held);
    // Ends both ends at once without any message, as a lost connection would.
    void cut(const QString &reason);
    int messagesSent() const { return m_messagesSent; }

private:
    explicit PipeLink(const QString &name, QObject *parent);
    void scheduleDelivery();
    void deliver();
    void end(const QString &reason);

    QString m_name;
    QPointer<PipeLink> m_peer;
    QList<QByteArray> m_queue; // sent by this end, not yet received by the peer
    qint64 m_backlog = 0;
    bool m_held = false;
    bool m_open = true;
    QString m_closeReason; // what the peer is told once the queue has been delivered
    bool m_deliveryScheduled = false;
    int m_messagesSent = 0;
};

} // namespace wstunnel
