#include "EngineWorker.h"

#include "EmbeddedRemote.h"
#include "EngineLogging.h"
#include "EngineMailbox.h"
#include "client/TunnelClient.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"
#include "forward/ReverseForward.h"
#include "session/TunnelSession.h"

#include <QDateTime>
#include <QTimer>

#include <utility>

namespace wstunnel {

namespace {

// The client's session while it is held for a resume, or nullptr.
const TunnelSession *heldSession(const TunnelClient *client)
{
    const TunnelSession *session = client ? client->session() : nullptr;
    return session && session->isHeld() ? session : nullptr;
}

} // namespace

EngineWorker::EngineWorker(int snapshotIntervalMs, EngineMailbox *mailbox, QObject *parent)
    : QObject(parent)
    , m_snapshotIntervalMs(snapshotIntervalMs)
    , m_mailbox(mailbox)
{
    m_clock.start();
}

EngineWorker::~EngineWorker()
{
    shutdown();
}

void EngineWorker::start()
{
    m_mailbox->markStarted();
    m_snapshotTimer = new QTimer(this);
    connect(m_snapshotTimer, &QTimer::timeout, this, &EngineWorker::publishSnapshot);
    m_snapshotTimer->start(m_snapshotIntervalMs);
    m_sinceSnapshot.start();
    m_portRetryTimer = new QTimer(this);
    connect(m_portRetryTimer, &QTimer::timeout, this, &EngineWorker::retryBusyPorts);
    m_portRetryTimer->start(kBusyPortRetryMs);
}

void EngineWorker::runCommands()
{
    for (const EngineMailbox::Command &command : m_mailbox->takeCommands())
        command(*this);
}

void EngineWorker::apply(const QList<RemoteConfig> &remotes,
                         const QHash<QString, QByteArray> &tokens,
                         const QList<MappingConfig> &mappings)
{
    // Remotes that went away or changed take their mappings down; they restart below.
    QSet<QString> restartedRemotes;
    QHash<QString, RemoteConfig> wantedRemotes;
    for (const RemoteConfig &remote : remotes)
        wantedRemotes.insert(remote.id, remote);
    for (auto it = m_remotes.begin(); it != m_remotes.end();) {
        const auto wanted = wantedRemotes.constFind(it.key());
        if (wanted != wantedRemotes.constEnd() && *wanted == it->config &&
            tokens.value(it.key()) == it->token) {
            ++it;
            continue;
        }
        for (MappingRuntime &mapping : m_mappings) {
            if (mapping.config.remoteId == it.key())
                stopMapping(mapping);
        }
        stopRemote(*it);
        restartedRemotes.insert(it.key());
        it = m_remotes.erase(it);
    }
    m_remoteOrder.clear();
    for (const RemoteConfig &remote : remotes) {
        m_remoteOrder.append(remote.id);
        if (m_remotes.contains(remote.id))
            continue;
        RemoteRuntime runtime;
        runtime.config = remote;
        runtime.token = tokens.value(remote.id);
        m_remotes.insert(remote.id, runtime);
    }

    // Stop everything that changes before starting anything, so that a port handed from one
    // mapping to another is free when the second one binds it.
    QHash<QString, MappingConfig> wantedMappings;
    for (const MappingConfig &mapping : mappings)
        wantedMappings.insert(mapping.id, mapping);
    for (auto it = m_mappings.begin(); it != m_mappings.end();) {
        const auto wanted = wantedMappings.constFind(it.key());
        if (wanted == wantedMappings.constEnd()) {
            stopMapping(*it);
            it = m_mappings.erase(it);
            continue;
        }
        if (!wanted->sameForward(it->config) || restartedRemotes.contains(it->config.remoteId))
            stopMapping(*it);
        ++it;
    }
    m_mappingOrder.clear();
    for (const MappingConfig &config : mappings) {
        m_mappingOrder.append(config.id);
        auto existing = m_mappings.find(config.id);
        if (existing == m_mappings.end()) {
            MappingRuntime runtime;
            runtime.config = config;
            existing = m_mappings.insert(config.id, runtime);
        } else if (existing->config.sameForward(config) &&
                   (isRunning(*existing) || !config.enabled) &&
                   !restartedRemotes.contains(config.remoteId)) {
            existing->config = config;
            continue;
        }
        existing->config = config;
        if (config.enabled)
            startMapping(*existing);
    }

    publishSoon();

    // A remote runs only while a switched-on mapping needs it.
    for (RemoteRuntime &remote : m_remotes) {
        bool needed = false;
        for (const MappingRuntime &mapping : std::as_const(m_mappings))
            needed =
                needed || (mapping.config.enabled && mapping.config.remoteId == remote.config.id);
        if (!needed) {
            stopRemote(remote);
            continue;
        }
        TunnelError error;
        if (TunnelClient *client = clientFor(remote, &error))
            client->start();
    }
}

void EngineWorker::closeChannel(const QString &mappingId, quint32 channelId)
{
    const auto it = m_mappings.constFind(mappingId);
    if (it == m_mappings.constEnd())
        return;
    for (Channel *channel : channelsOf(*it)) {
        if (channel->id() == channelId)
            channel->abortChannel(QStringLiteral("closed by the user"));
    }
}

void EngineWorker::shutdown()
{
    for (MappingRuntime &mapping : m_mappings)
        stopMapping(mapping);
    m_mappings.clear();
    for (RemoteRuntime &remote : m_remotes)
        stopRemote(remote);
    m_remotes.clear();
    delete m_embedded;
    m_embedded = nullptr;
    delete m_snapshotTimer;
    m_snapshotTimer = nullptr;
    delete m_portRetryTimer;
    m_portRetryTimer = nullptr;
}

void EngineWorker::stopMapping(MappingRuntime &mapping)
{
    mapping.error = TunnelError();
    mapping.channelRates.clear();
    const auto remote = m_remotes.find(mapping.config.remoteId);
    TunnelClient *client = remote != m_remotes.end() ? remote->client : nullptr;
    // Without a client, the forwards went with it.
    if (client && mapping.listener) {
        qCInfo(lcEngine).noquote()
            << QStringLiteral("stopped forwarding %1 -> %2")
                   .arg(mapping.listener->localEndpoint(), mapping.listener->target());
        client->removeLocalForward(mapping.listener);
    }
    if (client && mapping.datagramListener) {
        qCInfo(lcEngine).noquote() << QStringLiteral("stopped forwarding %1 -> %2")
                                          .arg(mapping.datagramListener->localEndpoint(),
                                               mapping.datagramListener->target());
        client->removeDatagramForward(mapping.datagramListener);
    }
    if (client && mapping.reverse) {
        if (mapping.reverse->state() == ReverseForward::State::Listening)
            qCInfo(lcEngine).noquote()
                << QStringLiteral("stopped reverse forwarding %1 on the remote -> %2")
                       .arg(mapping.reverse->remoteEndpoint(),
                            mapping.reverse->spec().targetEndpoint());
        client->removeReverseForward(mapping.reverse);
    }
    mapping.listener = nullptr;
    mapping.datagramListener = nullptr;
    mapping.reverse = nullptr;
    // After the forward's channels reported their end, which is no failure of the next run.
    mapping.stoppedByRefusal = false;
    mapping.lastFailure = ChannelFailure();
    mapping.openedChannels.clear();
}

void EngineWorker::startMapping(MappingRuntime &mapping, bool quiet)
{
    // A forward that failed (a reverse one the remote refused) is dropped before trying again.
    if (mapping.listener || mapping.datagramListener || mapping.reverse)
        stopMapping(mapping);
    mapping.error = TunnelError();
    mapping.rates = RateMeter(m_clock.elapsed());
    const auto remote = m_remotes.find(mapping.config.remoteId);
    if (remote == m_remotes.end()) {
        mapping.error = TunnelError(TunnelError::Kind::RemoteMissing, mapping.config.remoteId);
        return;
    }
    TunnelClient *client = clientFor(*remote, &mapping.error);
    if (!client)
        return;
    if (mapping.config.direction == ForwardSpec::Direction::Reverse) {
        startReverse(mapping, client);
        return;
    }
    // UDP goes through the same client calls as TCP, with a datagram listener.
    if (mapping.config.protocol == MappingConfig::Protocol::Udp) {
        mapping.datagramListener =
            client->addDatagramForward(mapping.config.toSpec(), &mapping.error);
        if (mapping.datagramListener) {
            qCInfo(lcEngine).noquote() << QStringLiteral("forwarding %1 -> %2")
                                              .arg(mapping.datagramListener->localEndpoint(),
                                                   mapping.datagramListener->target());
            watchChannels(mapping.config.id, mapping.datagramListener.data());
        } else if (!quiet) {
            qCWarning(lcEngine).noquote() << mapping.error.toString();
        }
        return;
    }
    mapping.listener = client->addLocalForward(mapping.config.toSpec(), &mapping.error);
    if (mapping.listener) {
        qCInfo(lcEngine).noquote()
            << QStringLiteral("forwarding %1 -> %2")
                   .arg(mapping.listener->localEndpoint(), mapping.listener->target());
        watchChannels(mapping.config.id, mapping.listener.data());
    } else if (!quiet) {
        qCWarning(lcEngine).noquote() << mapping.error.toString();
    }
}

template <typename Listener>
void EngineWorker::watchChannels(const QString &mappingId, Listener *listener)
{
    connect(listener, &Listener::channelOpened, this, [this, mappingId](Channel *channel) {
        auto mapping = m_mappings.find(mappingId);
        if (mapping == m_mappings.end())
            return;
        mapping->openedChannels.insert(channel->id());
        mapping->lastFailure = ChannelFailure();
        EngineEvent event;
        event.kind = EngineEvent::Kind::ChannelOpened;
        event.remoteId = mapping->config.remoteId;
        event.mappingId = mappingId;
        event.peer = channel->peer();
        event.target = channel->target();
        record(event);
    });
    connect(listener, &Listener::channelClosed, this,
            [this, mappingId](const ChannelSummary &summary) {
                auto mapping = m_mappings.find(mappingId);
                if (mapping == m_mappings.end())
                    return;
                const bool opened = mapping->openedChannels.remove(summary.id);
                EngineEvent event;
                event.timeMs = QDateTime::currentMSecsSinceEpoch();
                event.kind = opened || summary.error.isEmpty() ? EngineEvent::Kind::ChannelClosed
                                                               : EngineEvent::Kind::ChannelFailed;
                event.remoteId = mapping->config.remoteId;
                event.mappingId = mappingId;
                event.peer = summary.peer;
                event.target = summary.target;
                event.reason = summary.error;
                event.bytesIn = summary.bytesIn;
                event.bytesOut = summary.bytesOut;
                record(event);
                if (event.kind == EngineEvent::Kind::ChannelFailed) {
                    mapping->lastFailure =
                        ChannelFailure{event.timeMs, summary.peer, summary.target, summary.error};
                    publishSoon();
                }
            });
}

void EngineWorker::retryBusyPorts()
{
    bool retried = false;
    for (MappingRuntime &mapping : m_mappings) {
        if (!mapping.config.enabled || isRunning(mapping) ||
            mapping.error.kind != TunnelError::Kind::LocalPortInUse)
            continue;
        startMapping(mapping, true);
        retried = true;
    }
    if (retried)
        publishSoon();
}

void EngineWorker::record(EngineEvent event)
{
    if (event.timeMs == 0)
        event.timeMs = QDateTime::currentMSecsSinceEpoch();
    if (m_pendingEvents.size() >= kMaxPendingEvents)
        m_pendingEvents.removeFirst();
    m_pendingEvents.append(event);
}

void EngineWorker::onRemoteStateChanged(const QString &remoteId)
{
    auto remote = m_remotes.find(remoteId);
    if (remote == m_remotes.end() || !remote->client)
        return;
    TunnelClient *client = remote->client;
    EngineEvent event;
    event.remoteId = remoteId;
    event.error = client->error();
    switch (client->state()) {
    case TunnelClient::State::Connected:
        if (remote->connected)
            return;
        remote->connected = true;
        remote->outageRecorded = false;
        event.kind = EngineEvent::Kind::SessionUp;
        record(event);
        return;
    case TunnelClient::State::Retrying:
        remote->connected = false;
        if (std::exchange(remote->outageRecorded, true))
            return;
        event.kind = EngineEvent::Kind::SessionDown;
        record(event);
        return;
    case TunnelClient::State::Failed:
        break;
    case TunnelClient::State::Connecting:
    case TunnelClient::State::Stopped:
        return;
    }
    remote->connected = false;
    event.kind = EngineEvent::Kind::SessionRefused;
    record(event);
    // A refusal that stands: connections to the mappings' ports would only wait for a session
    // that never comes, so their ports close and say why.
    for (MappingRuntime &mapping : m_mappings) {
        if (mapping.config.remoteId != remoteId || !isRunning(mapping))
            continue;
        stopMapping(mapping);
        mapping.error = client->error();
        mapping.stoppedByRefusal = true;
        qCWarning(lcEngine).noquote()
            << QStringLiteral("stopped listening for %1: %2")
                   .arg(mapping.config.bindEndpoint(), mapping.error.toString());
    }
    publishSoon();
}

void EngineWorker::startReverse(MappingRuntime &mapping, TunnelClient *client)
{
    mapping.reverse = client->addReverseForward(mapping.config.toSpec());
    // The remote's answer shows at once rather than with the next periodic snapshot.
    connect(mapping.reverse, &ReverseForward::ready, this, &EngineWorker::publishSoon);
    connect(mapping.reverse, &ReverseForward::failed, this, &EngineWorker::publishSoon);
    qCInfo(lcEngine).noquote() << QStringLiteral("asking the remote to listen on %1 for %2")
                                      .arg(mapping.config.bindEndpoint(),
                                           mapping.config.targetEndpoint());
}

bool EngineWorker::isRunning(const MappingRuntime &mapping)
{
    return mapping.listener || mapping.datagramListener ||
           (mapping.reverse && mapping.reverse->state() != ReverseForward::State::Failed);
}

QList<Channel *> EngineWorker::channelsOf(const MappingRuntime &mapping)
{
    if (mapping.listener)
        return mapping.listener->channels();
    if (mapping.datagramListener)
        return mapping.datagramListener->channels();
    if (mapping.reverse)
        return mapping.reverse->channels();
    return {};
}

TunnelClient *EngineWorker::clientFor(RemoteRuntime &remote, TunnelError *error)
{
    if (remote.client)
        return remote.client;
    ClientSettings settings = remote.config.toClientSettings();
    settings.token = remote.token;
    settings.name = QStringLiteral("wstunnel desktop");
    if (remote.config.builtIn) {
        if (!m_embedded)
            m_embedded = new EmbeddedRemote(this);
        QString reason;
        if (!m_embedded->start(&reason)) {
            *error =
                TunnelError(TunnelError::Kind::BuiltInRemoteFailed, remote.config.name, reason);
            return nullptr;
        }
        settings.url = m_embedded->url();
        settings.token = m_embedded->token();
    }
    remote.client = new TunnelClient(settings, this);
    if (!remote.config.agent.isEmpty()) {
        const QString id = remote.config.id;
        connect(
            remote.client, &TunnelClient::sessionReady, this, [this, id](TunnelSession *session) {
                // Until the hub says who serves the name in this session.
                if (auto it = m_remotes.find(id); it != m_remotes.end())
                    it->agentAddress.clear();
                connect(session, &TunnelSession::agentStatusReceived, this,
                        [this, id](AgentState state, const QString &, const QString &address) {
                            auto it = m_remotes.find(id);
                            if (it == m_remotes.end())
                                return;
                            it->agentAddress = state == AgentState::Active ? address : QString();
                            publishSoon();
                        });
            });
    }
    // A refusal, and the certificate the user may trust, shows at once.
    const QString remoteId = remote.config.id;
    connect(remote.client, &TunnelClient::stateChanged, this,
            [this, remoteId] { onRemoteStateChanged(remoteId); });
    return remote.client;
}

void EngineWorker::stopRemote(RemoteRuntime &remote)
{
    if (!remote.client)
        return;
    for (ForwardListener *listener : remote.client->localForwards())
        remote.client->removeLocalForward(listener);
    for (DatagramListener *listener : remote.client->datagramForwards())
        remote.client->removeDatagramForward(listener);
    for (ReverseForward *forward : remote.client->reverseForwards())
        remote.client->removeReverseForward(forward);
    remote.client->stop();
    // Deleted now, on this thread: a deferred delete could outlive the thread at shutdown.
    delete remote.client;
    remote.client = nullptr;
}

void EngineWorker::publishSoon()
{
    // An edit shows at once, yet snapshots never come closer than kMinSnapshotSpacingMs.
    if (!m_snapshotTimer)
        return;
    const qint64 wait = qMax<qint64>(0, kMinSnapshotSpacingMs - m_sinceSnapshot.elapsed());
    m_snapshotTimer->start(int(qMin<qint64>(wait, m_snapshotIntervalMs)));
}

void EngineWorker::publishSnapshot()
{
    if (m_snapshotTimer->interval() != m_snapshotIntervalMs)
        m_snapshotTimer->start(m_snapshotIntervalMs);
    m_sinceSnapshot.restart();
    const qint64 nowMs = m_clock.elapsed();
    EngineSnapshot snapshot;
    snapshot.sequence = ++m_sequence;
    for (const QString &id : std::as_const(m_remoteOrder)) {
        const RemoteRuntime &remote = m_remotes.value(id);
        RemoteStats stats;
        stats.id = id;
        if (remote.client) {
            stats.error = remote.client->error();
            switch (remote.client->state()) {
            case TunnelClient::State::Stopped:
                stats.state = RemoteState::Idle;
                break;
            case TunnelClient::State::Connecting:
            case TunnelClient::State::Retrying:
                stats.state = RemoteState::Connecting;
                break;
            case TunnelClient::State::Connected:
                stats.state = RemoteState::Connected;
                break;
            case TunnelClient::State::Failed:
                stats.state = RemoteState::Failed;
                break;
            }
            // A drop that the session resumes is no error: the remote is reconnecting.
            if (const TunnelSession *held = heldSession(remote.client)) {
                stats.state = RemoteState::Reconnecting;
                stats.heldConnections = int(held->channels().size());
                stats.error = TunnelError();
            }
            if (remote.client->state() == TunnelClient::State::Connected)
                stats.agentAddress = remote.agentAddress;
            if (stats.error.kind == TunnelError::Kind::CertificateNotTrusted) {
                stats.rejectedCertificateSha256 = stats.error.certificateSha256;
                stats.certificateProblem = stats.error.detail;
            }
        }
        snapshot.remotes.append(stats);
    }
    for (const QString &id : std::as_const(m_mappingOrder)) {
        const MappingStats stats = statsOf(m_mappings[id], nowMs);
        snapshot.mappings.append(stats);
        for (RemoteStats &remote : snapshot.remotes) {
            if (remote.id == m_mappings[id].config.remoteId) {
                remote.rateIn += stats.rateIn;
                remote.rateOut += stats.rateOut;
            }
        }
    }
    m_mailbox->publish(std::move(snapshot), std::exchange(m_pendingEvents, {}));
}

MappingStats EngineWorker::statsOf(MappingRuntime &mapping, qint64 nowMs)
{
    MappingStats stats;
    stats.id = mapping.config.id;
    if (!mapping.config.enabled) {
        stats.state = MappingState::Off;
        return stats;
    }
    ForwardListener *listener = mapping.listener;
    DatagramListener *datagramListener = mapping.datagramListener;
    ReverseForward *reverse = mapping.reverse;
    if (mapping.error.isError() || (!listener && !datagramListener && !reverse)) {
        stats.state = MappingState::Error;
        stats.error = mapping.error;
        stats.reason = mapping.error.toString();
        stats.stoppedByRefusal = mapping.stoppedByRefusal;
        stats.retrying = mapping.error.kind == TunnelError::Kind::LocalPortInUse;
        return stats;
    }
    stats.lastFailure = mapping.lastFailure;
    if (listener) {
        stats.listenEndpoint = listener->localEndpoint();
        stats.bytesIn = listener->bytesIn();
        stats.bytesOut = listener->bytesOut();
    } else if (datagramListener) {
        stats.listenEndpoint = datagramListener->localEndpoint();
        stats.bytesIn = datagramListener->bytesIn();
        stats.bytesOut = datagramListener->bytesOut();
        stats.datagramsDropped = datagramListener->datagramsDropped();
    } else {
        stats.listenEndpoint = reverse->remoteEndpoint();
        stats.bytesIn = reverse->bytesIn();
        stats.bytesOut = reverse->bytesOut();
    }
    mapping.rates.record(nowMs, stats.bytesIn, stats.bytesOut);
    stats.rateIn = mapping.rates.rateIn();
    stats.rateOut = mapping.rates.rateOut();

    QHash<quint32, RateMeter> channelRates;
    const QList<Channel *> channels = channelsOf(mapping);
    for (const Channel *channel : channels) {
        ChannelStats channelStats;
        channelStats.id = channel->id();
        if (reverse) {
            // The remote does not say who connected to it, only where.
            channelStats.fromRemote = true;
            channelStats.peer = formatEndpoint(reverse->spec().bindHost, reverse->remotePort());
            channelStats.target = reverse->spec().targetEndpoint();
        } else {
            channelStats.peer = channel->peer();
            channelStats.target = channel->target();
        }
        channelStats.ageMs = channel->ageMs();
        channelStats.bytesIn = channel->bytesIn();
        channelStats.bytesOut = channel->bytesOut();
        channelStats.datagram = channel->isDatagram();
        channelStats.datagramsIn = channel->datagramsIn();
        channelStats.datagramsOut = channel->datagramsOut();
        channelStats.droppedIn = channel->droppedIn();
        channelStats.droppedOut = channel->droppedOut();
        // A channel's counters started at zero when it opened.
        RateMeter meter =
            mapping.channelRates.value(channel->id(), RateMeter(nowMs - channelStats.ageMs));
        meter.record(nowMs, channelStats.bytesIn, channelStats.bytesOut);
        channelStats.rateIn = meter.rateIn();
        channelStats.rateOut = meter.rateOut();
        channelRates.insert(channel->id(), meter);
        if (reverse)
            stats.datagramsDropped += channelStats.droppedIn + channelStats.droppedOut;
        stats.channels.append(channelStats);
    }
    mapping.channelRates = channelRates;
    stats.openChannels = int(channels.size());

    const TunnelClient *client = m_remotes.value(mapping.config.remoteId).client;
    const TunnelClient::State remoteState = client ? client->state() : TunnelClient::State::Stopped;
    if (remoteState == TunnelClient::State::Failed) {
        stats.state = MappingState::Error;
        stats.error = client->error();
        stats.reason = client->statusText();
    } else if (remoteState != TunnelClient::State::Connected && !heldSession(client)) {
        stats.state = MappingState::Connecting;
        stats.error = client ? client->error() : TunnelError();
        stats.reason = client ? client->statusText() : QString();
    } else if (reverse && reverse->state() == ReverseForward::State::Failed) {
        stats.state = MappingState::Error;
        stats.error = TunnelError(TunnelError::Kind::ReverseForwardRefused,
                                  mapping.config.bindEndpoint(), reverse->error());
        stats.error.forward = reverse->spec().toString();
        stats.reason = stats.error.toString();
    } else if (reverse && reverse->state() == ReverseForward::State::Pending) {
        stats.state = MappingState::Connecting;
        stats.reason = mapping.config.bindPort == 0
                           ? QStringLiteral("waiting for the remote to listen on a free port of %1")
                                 .arg(mapping.config.bindHost)
                           : QStringLiteral("waiting for the remote to listen on %1")
                                 .arg(mapping.config.bindEndpoint());
    } else if (stats.openChannels > 0) {
        stats.state = MappingState::Active;
    } else {
        stats.state =
            mapping.lastFailure.isValid() ? MappingState::Failing : MappingState::Listening;
    }
    return stats;
}

} // namespace wstunnel
