#include "UiSettings.h"

#include <QSettings>
#include <QStandardPaths>

namespace wstunnel {

namespace {

const QLatin1String kStartMinimised("startMinimised");
const QLatin1String kTrayNoticeShown("trayNoticeShown");
const QLatin1String kWindowGeometry("window/geometry");

// Next to profile.json rather than under an organisation folder the app does not have.
QSettings settings()
{
    return QSettings(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation) +
                         QStringLiteral("/settings.ini"),
                     QSettings::IniFormat);
}

} // namespace

bool UiSettings::startMinimised()
{
    return settings().value(kStartMinimised, false).toBool();
}

void UiSettings::setStartMinimised(bool minimised)
{
    settings().setValue(kStartMinimised, minimised);
}

bool UiSettings::trayNoticeShown()
{
    return settings().value(kTrayNoticeShown, false).toBool();
}

void UiSettings::setTrayNoticeShown()
{
    settings().setValue(kTrayNoticeShown, true);
}

QByteArray UiSettings::windowGeometry()
{
    return settings().value(kWindowGeometry).toByteArray();
}

void UiSettings::setWindowGeometry(const QByteArray &geometry)
{
    settings().setValue(kWindowGeometry, geometry);
}

} // namespace wstunnel
