#pragma once

#include "EngineEvent.h"
#include "EngineSnapshot.h"
#include "MappingConfig.h"
#include "RateMeter.h"
#include "RemoteConfig.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QStringList>

class QTimer;

namespace wstunnel {

class DatagramListener;
class EmbeddedRemote;
class EngineMailbox;
class ForwardListener;
class ReverseForward;
class Channel;
class TunnelClient;

// Runs the tunnels on the engine's thread: one TunnelClient per remote in use, one forward per
// switched-on mapping (a local listener, or a reverse forward the remote listens for). A new
// configuration is applied as a difference, so that a mapping nobody touched keeps its port and its
// connections. Its commands come, and its snapshots go, through an EngineMailbox.
class EngineWorker : public QObject
{
    Q_OBJECT

public:
    // At most ten snapshots a second, whatever happens.
    static constexpr qint64 kMinSnapshotSpacingMs = 100;
    // Events waiting for the next snapshot; beyond this the oldest go.
    static constexpr int kMaxPendingEvents = 2000;

    EngineWorker(int snapshotIntervalMs, EngineMailbox *mailbox, QObject *parent = nullptr);
    ~EngineWorker() override;

    void start();
    // Runs the commands waiting in the mailbox, oldest first.
    void runCommands();
    void apply(const QList<wstunnel::RemoteConfig> &remotes,
               const QHash<QString, QByteArray> &tokens,
               const QList<wstunnel::MappingConfig> &mappings);
    void closeChannel(const QString &mappingId, quint32 channelId);
    // Tears everything down on this thread, before the thread ends.
    void shutdown();

private:
    struct RemoteRuntime
    {
        RemoteConfig config;
        QByteArray token;
        TunnelClient *client = nullptr;
        QString agentAddress;
        bool connected = false;
        // The activity log has its entry for the current outage; the retries that follow show
        // in the remote's status, not as more entries.
        bool outageRecorded = false;
    };
    struct MappingRuntime
    {
        MappingConfig config;
        // One of these while the mapping runs, by its direction and protocol.
        QPointer<ForwardListener> listener;
        QPointer<DatagramListener> datagramListener;
        QPointer<ReverseForward> reverse;
        TunnelError error;
        // Set when its remote refused for good and its forward was taken down for that.
        bool stoppedByRefusal = false;
        ChannelFailure lastFailure;
        // Channels that opened, so that a closing one is known to have failed or not.
        QSet<quint32> openedChannels;
        RateMeter rates;
        QHash<quint32, RateMeter> channelRates;
    };

    void stopMapping(MappingRuntime &mapping);
    // quiet: a failure to bind is not logged again (a retry of a busy port).
    void startMapping(MappingRuntime &mapping, bool quiet = false);
    template <typename Listener> void watchChannels(const QString &mappingId, Listener *listener);
    void onRemoteStateChanged(const QString &remoteId);
    void retryBusyPorts();
    void record(EngineEvent event);
    void startReverse(MappingRuntime &mapping, TunnelClient *client);
    // Whether the mapping's forward runs (or waits for its remote), rather than having failed.
    static bool isRunning(const MappingRuntime &mapping);
    static QList<Channel *> channelsOf(const MappingRuntime &mapping);
    TunnelClient *clientFor(RemoteRuntime &remote, TunnelError *error);
    void stopRemote(RemoteRuntime &remote);
    void publishSoon();
    void publishSnapshot();
    MappingStats statsOf(MappingRuntime &mapping, qint64 nowMs);

    int m_snapshotIntervalMs;
    EngineMailbox *m_mailbox;
    QTimer *m_snapshotTimer = nullptr;
    QTimer *m_portRetryTimer = nullptr;
    QList<EngineEvent> m_pendingEvents;
    QElapsedTimer m_sinceSnapshot;
    // The time base of the rate meters.
    QElapsedTimer m_clock;
    qint64 m_sequence = 0;
    EmbeddedRemote *m_embedded = nullptr;
    QHash<QString, RemoteRuntime> m_remotes;
    QStringList m_remoteOrder;
    QHash<QString, MappingRuntime> m_mappings;
    QStringList m_mappingOrder;
};

} // namespace wstunnel
