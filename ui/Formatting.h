#pragma once

#include "EngineSnapshot.h"

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
    static QString duration(qint64 milliseconds);
    static QString mappingState(MappingState state);
    static QString remoteState(RemoteState state);
    static QIcon stateIcon(MappingState state);
    static QIcon remoteStateIcon(RemoteState state);
};

} // namespace wstunnel
