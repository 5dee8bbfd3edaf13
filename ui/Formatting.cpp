#include "Formatting.h"

#include "ErrorMessages.h"

#include <QDateTime>
#include <QLocale>
#include <QPainter>
#include <QPixmap>

namespace wstunnel {

namespace {

QIcon dot(const QColor &fill)
{
    QPixmap pixmap(32, 32);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(fill.darker(140), 2));
    painter.setBrush(fill);
    painter.drawEllipse(QRectF(6, 6, 20, 20));
    return QIcon(pixmap);
}

} // namespace

QString Formatting::rate(double bytesPerSecond)
{
    if (bytesPerSecond < 1)
        return tr("0 B/s");
    return tr("%1/s").arg(
        QLocale().formattedDataSize(qint64(bytesPerSecond), 1, QLocale::DataSizeSIFormat));
}

QString Formatting::bytes(quint64 bytes)
{
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeSIFormat);
}

QString Formatting::rateInExplained()
{
    return tr("Bytes per second received through the tunnel, averaged over the last %n s", nullptr,
              kRateWindowMs / 1000);
}

QString Formatting::rateOutExplained()
{
    return tr("Bytes per second sent into the tunnel, averaged over the last %n s", nullptr,
              kRateWindowMs / 1000);
}

QString Formatting::duration(qint64 milliseconds)
{
    const qint64 seconds = milliseconds / 1000;
    if (seconds < 60)
        return tr("%n s", nullptr, int(seconds));
    if (seconds < 3600)
        return tr("%1 min %2 s").arg(seconds / 60).arg(seconds % 60);
    return tr("%1 h %2 min").arg(seconds / 3600).arg((seconds % 3600) / 60);
}

QString Formatting::mappingState(MappingState state)
{
    switch (state) {
    case MappingState::Off:
        return tr("Off");
    case MappingState::Connecting:
        return tr("Connecting");
    case MappingState::Listening:
        return tr("Listening");
    case MappingState::Active:
        return tr("Active");
    case MappingState::Failing:
        return tr("Connections fail");
    case MappingState::Error:
        return tr("Error");
    }
    return QString();
}

QString Formatting::mappingDetail(const MappingConfig &mapping, const MappingStats &stats)
{
    if (mapping.direction == ForwardSpec::Direction::Reverse && !stats.listenEndpoint.isEmpty() &&
        (stats.state == MappingState::Listening || stats.state == MappingState::Active))
        return tr("listening on the remote at %1").arg(stats.listenEndpoint);
    if (stats.error.isError() && stats.stoppedByRefusal)
        return tr("%1. Its port was closed so that connections fail at once instead of waiting; "
                  "it opens again when the remote is edited or the mapping switched on again")
            .arg(ErrorMessages::describe(stats.error));
    if (stats.error.isError() && stats.retrying)
        return tr("%1. WSTunnel tries again every %n s", nullptr, kBusyPortRetryMs / 1000)
            .arg(ErrorMessages::describe(stats.error));
    if (stats.error.isError())
        return ErrorMessages::describe(stats.error);
    if (stats.lastFailure.isValid())
        return failure(stats.lastFailure);
    if (mapping.direction == ForwardSpec::Direction::Reverse &&
        stats.state == MappingState::Connecting)
        return mapping.bindPort == 0
                   ? tr("waiting for the remote to listen on a free port of %1")
                         .arg(mapping.bindHost)
                   : tr("waiting for the remote to listen on %1").arg(mapping.bindEndpoint());
    return QString();
}

QString Formatting::failure(const ChannelFailure &failure)
{
    return tr("the connection from %1 to %2 failed at %3: %4")
        .arg(failure.peer, failure.target,
             QLocale().toString(QDateTime::fromMSecsSinceEpoch(failure.timeMs).time(),
                                QStringLiteral("HH:mm:ss")),
             failure.reason);
}

QString Formatting::remoteState(RemoteState state, int heldConnections)
{
    switch (state) {
    case RemoteState::Idle:
        return tr("Not in use");
    case RemoteState::Connecting:
        return tr("Connecting");
    case RemoteState::Reconnecting:
        return tr("Reconnecting (%n connections held)", nullptr, heldConnections);
    case RemoteState::Connected:
        return tr("Connected");
    case RemoteState::Failed:
        return tr("Failed");
    }
    return QString();
}

QIcon Formatting::stateIcon(MappingState state)
{
    switch (state) {
    case MappingState::Off:
        return dot(QColor(0xb0, 0xb0, 0xb0));
    case MappingState::Connecting:
        return dot(QColor(0xf0, 0xb0, 0x30));
    case MappingState::Listening:
        return dot(QColor(0x4a, 0x90, 0xd9));
    case MappingState::Active:
        return dot(QColor(0x3c, 0xb0, 0x4a));
    case MappingState::Failing:
        return dot(QColor(0xe8, 0x7a, 0x1e));
    case MappingState::Error:
        return dot(QColor(0xd9, 0x3a, 0x3a));
    }
    return QIcon();
}

QIcon Formatting::remoteStateIcon(RemoteState state)
{
    switch (state) {
    case RemoteState::Idle:
        return stateIcon(MappingState::Off);
    case RemoteState::Connecting:
    case RemoteState::Reconnecting:
        return stateIcon(MappingState::Connecting);
    case RemoteState::Connected:
        return stateIcon(MappingState::Active);
    case RemoteState::Failed:
        return stateIcon(MappingState::Error);
    }
    return QIcon();
}

} // namespace wstunnel
