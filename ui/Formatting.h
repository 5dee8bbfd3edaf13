#pragma once

#include "engine/EngineSnapshot.h"
#include "engine/MappingConfig.h"

#include <QCoreApplication>
#include <QIcon>
#include <QString>

namespace wstunnel {

// How the views word and draw engine values, in one place so that the table, the tray and the
// status bar agree.
class Formatting
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::Formatting)

public:
    static QString rate(double bytesPerSecond);
    static QString bytes(quint64 bytes);
    // What the rate columns and the graph show, for their tooltips.
    // A mapping's latest failed connection: from whom, to where, when and why.
    static QString failure(const ChannelFailure &failure);
    static QString rateInExplained();
    static QString rateOutExplained();
    static QString duration(qint64 milliseconds);
    static QString mappingState(MappingState state);
    // What to say about a switched-on mapping besides its state: where a reverse mapping listens
    // on its remote once it does, else what went wrong or what it waits for (may be empty).
    static QString mappingDetail(const MappingConfig &mapping, const MappingStats &stats);
    static QString remoteState(RemoteState state, int heldConnections = 0);
    static QIcon stateIcon(MappingState state);
    static QIcon remoteStateIcon(RemoteState state);
};

} // namespace wstunnel
