#pragma once

#include <QCoreApplication>
#include <QString>

namespace wstunnel {

// Start at login through an XDG autostart entry (~/.config/autostart/wstunnel.desktop).
class Autostart
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::Autostart)

public:
    static QString entryPath();
    static bool isEnabled();
    static bool setEnabled(bool enabled, QString *error);
};

} // namespace wstunnel
