#include "UiSettings.h"

#include <QSettings>

namespace wstunnel {

namespace {

const QLatin1String kStartMinimised("startMinimised");
const QLatin1String kTrayNoticeShown("trayNoticeShown");
const QLatin1String kWindowGeometry("window/geometry");

} // namespace

bool UiSettings::startMinimised()
{
    return QSettings().value(kStartMinimised, false).toBool();
}

void UiSettings::setStartMinimised(bool minimised)
{
    QSettings().setValue(kStartMinimised, minimised);
}

bool UiSettings::trayNoticeShown()
{
    return QSettings().value(kTrayNoticeShown, false).toBool();
}

void UiSettings::setTrayNoticeShown()
{
    QSettings().setValue(kTrayNoticeShown, true);
}

QByteArray UiSettings::windowGeometry()
{
    return QSettings().value(kWindowGeometry).toByteArray();
}

void UiSettings::setWindowGeometry(const QByteArray &geometry)
{
    QSettings().setValue(kWindowGeometry, geometry);
}

} // namespace wstunnel
