#pragma once

#include "TunnelError.h"

#include <QList>
#include <QMetaType>
#include <QString>

namespace wstunnel {

// The statistics the engine publishes a few times a second: plain values, safe to hand from the
// engine's thread to the GUI. Rates are bytes per second averaged over the last kRateWindowMs;
// "in" is what arrives from the tunnel for the local side, "out" what the local side sends into
// it. Byte counts are totals since the channel opened or the mapping started.

inline constexpr int kRateWindowMs = 2000;
// How often a mapping whose port another program holds tries to bind it again.
inline constexpr int kBusyPortRetryMs = 5000;

struct ChannelStats
{
    quint32 id = 0;
    // Who connected; for a channel the remote opened for a reverse mapping (fromRemote), the
    // remote's endpoint the connection arrived at, as the remote does not say who connected.
    QString peer;
    QString target;
    bool fromRemote = false;
    qint64 ageMs = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    double rateIn = 0;
    double rateOut = 0;
    // A UDP flow (a datagram channel): datagrams carried each way, and those dropped because they
    // did not fit the channel's window or the WebSocket (in: on the way to the source).
    bool datagram = false;
    quint64 datagramsIn = 0;
    quint64 datagramsOut = 0;
    quint64 droppedIn = 0;
    quint64 droppedOut = 0;
};

// Failing: it listens, but its latest connection failed and none is open.
enum class MappingState { Off, Connecting, Listening, Active, Failing, Error };

// The latest connection of a mapping that failed to open, until one opens again.
struct ChannelFailure
{
    qint64 timeMs = 0; // since the epoch; 0 while there is none
    QString peer;
    QString target;
    QString reason; // the remote's or the system's words
    bool isValid() const { return timeMs != 0; }
};

struct MappingStats
{
    QString id;
    MappingState state = MappingState::Off;
    // Why the mapping is in its state, in the engine's neutral English for log lines (empty when
    // there is nothing to say); the error behind it, if any, for the user's words.
    QString reason;
    TunnelError error;
    // Where the forward actually listens (the port the system chose for a mapping on port 0); for
    // a reverse mapping the remote's endpoint, known once the remote listens.
    QString listenEndpoint;
    ChannelFailure lastFailure;
    // Its remote refused it for good (token, certificate): its port was closed, so that
    // connections fail at once rather than wait; it opens again once the remote is edited.
    bool stoppedByRefusal = false;
    // Its port is busy and it tries again every kBusyPortRetryMs.
    bool retrying = false;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    double rateIn = 0;
    double rateOut = 0;
    int openChannels = 0;
    // Datagrams a UDP mapping dropped on this side: for a local one all its listener dropped, flows
    // that ended included; for a reverse one (its listener is on the remote) what its open flows
    // dropped here.
    quint64 datagramsDropped = 0;
    QList<ChannelStats> channels;
};

// Reconnecting: the WebSocket dropped and the session is held while the client resumes it; its
// connections and mappings stay as they were.
enum class RemoteState { Idle, Connecting, Reconnecting, Connected, Failed };

struct RemoteStats
{
    QString id;
    RemoteState state = RemoteState::Idle;
    // While reconnecting: the connections the held session keeps.
    int heldConnections = 0;
    // Why the remote failed, or why the last attempt to connect did; empty while none did.
    TunnelError error;
    // Set while the remote is refused because of its certificate, so that the user can check
    // this exact certificate and trust it (RemoteConfig::trustedCertificateSha256): its SHA-256
    // fingerprint (upper-case hex with colons) and what verification found wrong with it, as in
    // error.
    QString rejectedCertificateSha256;
    QString certificateProblem;
    // Through a hub (RemoteConfig::agent): the address of the agent instance that serves the
    // name, as the hub sees it; empty while none is connected or the hub has not said yet.
    QString agentAddress;
    // The sums of its mappings' rates.
    double rateIn = 0;
    double rateOut = 0;
};

struct EngineSnapshot
{
    qint64 sequence = 0;
    QList<RemoteStats> remotes;
    QList<MappingStats> mappings;

    const MappingStats *mapping(const QString &id) const;
    const RemoteStats *remote(const QString &id) const;
};

} // namespace wstunnel

Q_DECLARE_METATYPE(wstunnel::EngineSnapshot)
