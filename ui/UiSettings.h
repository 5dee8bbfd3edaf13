#pragma once

#include <QByteArray>

namespace wstunnel {

// Preferences of the desktop app itself (not of tunnels), kept in QSettings.
class UiSettings
{
public:
    static bool startMinimised();
    static void setStartMinimised(bool minimised);
    // The notice that closing the window keeps WSTunnel running is shown once.
    static bool trayNoticeShown();
    static void setTrayNoticeShown();
    static QByteArray windowGeometry();
    static void setWindowGeometry(const QByteArray &geometry);
};

} // namespace wstunnel
