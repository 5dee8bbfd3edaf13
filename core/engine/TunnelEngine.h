#pragma once

#include "EngineEvent.h"
#include "EngineSnapshot.h"
#include "Profile.h"

#include <QByteArray>
#include <QHash>
#include <QObject>

class QThread;

namespace wstunnel {

class EngineMailbox;
class EngineWorker;

// The facade the desktop app talks to. The tunnels run on a thread of their own, so that the
// GUI never waits on the network; this object lives on the caller's thread, forwards commands
// and republishes the worker's statistics snapshots (at most every snapshotIntervalMs), both
// through an EngineMailbox.
class TunnelEngine : public QObject
{
    Q_OBJECT

public:
    static constexpr int kDefaultSnapshotIntervalMs = 200;

    explicit TunnelEngine(QObject *parent = nullptr,
                          int snapshotIntervalMs = kDefaultSnapshotIntervalMs);
    ~TunnelEngine() override;

    // Makes the running tunnels match the profile; unchanged mappings are left alone. Tokens are
    // keyed by remote id.
    void apply(const Profile &profile, const QHash<QString, QByteArray> &tokens);
    void closeChannel(const QString &mappingId, quint32 channelId);
    EngineSnapshot snapshot() const { return m_snapshot; }

Q_SIGNALS:
    void snapshotUpdated(const wstunnel::EngineSnapshot &snapshot);
    // Session and connection events since the previous batch, oldest first.
    void eventsRecorded(const QList<wstunnel::EngineEvent> &events);

private:
    void takePublished();

    EngineMailbox *m_mailbox;
    QThread *m_thread;
    EngineWorker *m_worker;
    EngineSnapshot m_snapshot;
};

} // namespace wstunnel
