#pragma once

#include "TunnelError.h"

#include <QList>
#include <QMetaType>
#include <QString>

namespace wstunnel {

// One thing that happened in the engine, for the desktop's activity view: a remote's session
// coming, going or failing, a connection of a mapping opening, closing or failing. Plain values,
// handed from the engine's thread to the GUI in batches with the snapshots.
struct EngineEvent
{
    enum class Kind {
        SessionUp,      // remoteId
        SessionDown,    // remoteId; error: why
        SessionRefused, // remoteId; error: why; final, the mappings' listeners were stopped
        ChannelOpened,  // mappingId, peer, target
        ChannelClosed,  // mappingId, peer, target, reason when it did not end in order
        ChannelFailed,  // mappingId, peer, target, reason: the connection never opened
    };

    qint64 timeMs = 0; // since the epoch
    Kind kind = Kind::ChannelOpened;
    QString remoteId;
    QString mappingId;
    QString peer;
    QString target;
    // Core's neutral English for a channel; the typed error of a session, for the user's words.
    QString reason;
    TunnelError error;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
};

} // namespace wstunnel

Q_DECLARE_METATYPE(wstunnel::EngineEvent)
