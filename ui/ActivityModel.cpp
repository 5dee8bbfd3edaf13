#include "ActivityModel.h"

#include "AppController.h"
#include "ErrorMessages.h"
#include "Formatting.h"

#include <QDateTime>
#include <QIcon>
#include <QLocale>

namespace wstunnel {

ActivityModel::ActivityModel(AppController *controller, QObject *parent)
    : QAbstractTableModel(parent)
    , m_controller(controller)
{
    connect(controller, &AppController::eventsRecorded, this, &ActivityModel::append);
}

void ActivityModel::append(const QList<EngineEvent> &events)
{
    if (events.isEmpty())
        return;
    const int added = int(qMin<qsizetype>(events.size(), kMaxEvents));
    const int overflow = int(m_entries.size()) + added - kMaxEvents;
    if (overflow > 0) {
        beginRemoveRows(QModelIndex(), int(m_entries.size()) - overflow, int(m_entries.size()) - 1);
        m_entries.remove(m_entries.size() - overflow, overflow);
        endRemoveRows();
    }
    beginInsertRows(QModelIndex(), 0, added - 1);
    for (qsizetype i = events.size() - added; i < events.size(); ++i)
        m_entries.prepend(entryFor(events.at(i)));
    endInsertRows();
}

ActivityModel::Entry ActivityModel::entryFor(const EngineEvent &event) const
{
    const Profile &profile = m_controller->profile();
    Entry entry;
    entry.timeMs = event.timeMs;
    entry.peer = event.peer;
    const int mapping = profile.mappingIndex(event.mappingId);
    const int remote = profile.remoteIndex(event.remoteId);
    entry.mapping = mapping >= 0 ? profile.mappings.at(mapping).name
                                 : (remote >= 0 ? profile.remotes.at(remote).name : QString());
    switch (event.kind) {
    case EngineEvent::Kind::SessionUp:
        entry.what = tr("Connected to the remote");
        break;
    case EngineEvent::Kind::SessionDown:
        entry.what = tr("Connection to the remote lost");
        entry.detail = ErrorMessages::describe(event.error);
        entry.problem = true;
        break;
    case EngineEvent::Kind::SessionRefused:
        entry.what = tr("Refused by the remote; its mappings stopped listening");
        entry.detail = ErrorMessages::describe(event.error);
        entry.problem = true;
        break;
    case EngineEvent::Kind::ChannelOpened:
        entry.what = tr("Connection opened");
        entry.detail = tr("to %1").arg(event.target);
        break;
    case EngineEvent::Kind::ChannelClosed:
        entry.what = tr("Connection closed");
        entry.detail =
            tr("%1 received, %2 sent")
                .arg(Formatting::bytes(event.bytesIn), Formatting::bytes(event.bytesOut));
        if (!event.reason.isEmpty()) {
            entry.detail += tr("; %1").arg(event.reason);
            entry.problem = true;
        }
        break;
    case EngineEvent::Kind::ChannelFailed:
        entry.what = tr("Connection failed");
        entry.detail = tr("to %1: %2").arg(event.target, event.reason);
        entry.problem = true;
        break;
    }
    return entry;
}

QString ActivityModel::field(const Entry &entry, int column) const
{
    switch (column) {
    case TimeColumn:
        return QLocale().toString(QDateTime::fromMSecsSinceEpoch(entry.timeMs).time(),
                                  QStringLiteral("HH:mm:ss.zzz"));
    case MappingColumn:
        return entry.mapping;
    case EventColumn:
        return entry.what;
    case PeerColumn:
        return entry.peer;
    case DetailColumn:
        return entry.detail;
    default:
        return QString();
    }
}

QString ActivityModel::rowText(int row) const
{
    if (row < 0 || row >= m_entries.size())
        return QString();
    QStringList fields;
    for (int column = 0; column < ColumnCount; ++column)
        fields.append(field(m_entries.at(row), column));
    return fields.join(QLatin1Char('\t'));
}

int ActivityModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int ActivityModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ActivityModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_entries.size())
        return QVariant();
    const Entry &entry = m_entries.at(index.row());
    // Long reasons are cut off in the column; the tooltip has them in full.
    if (role == Qt::DisplayRole || role == Qt::ToolTipRole)
        return field(entry, index.column());
    if (role == Qt::DecorationRole && index.column() == EventColumn)
        return Formatting::stateIcon(entry.problem ? MappingState::Error : MappingState::Active);
    return QVariant();
}

QVariant ActivityModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case MappingColumn:
        return tr("Mapping");
    case EventColumn:
        return tr("Event");
    case PeerColumn:
        return tr("Peer");
    case DetailColumn:
        return tr("Details");
    default:
        return QVariant();
    }
}

} // namespace wstunnel
