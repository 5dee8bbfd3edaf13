#include "MappingTableModel.h"

#include "AppController.h"
#include "Formatting.h"

namespace wstunnel {

MappingTableModel::MappingTableModel(AppController *controller, QObject *parent)
    : QAbstractTableModel(parent)
    , m_controller(controller)
{
    connect(controller, &AppController::profileChanged, this, &MappingTableModel::onProfileChanged);
    connect(controller, &AppController::snapshotUpdated, this, &MappingTableModel::onSnapshot);
}

int MappingTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_controller->profile().mappings.size());
}

int MappingTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MappingTableModel::data(const QModelIndex &index, int role) const
{
    const Profile &profile = m_controller->profile();
    if (!index.isValid() || index.row() >= profile.mappings.size())
        return QVariant();
    const MappingConfig &mapping = profile.mappings.at(index.row());
    const MappingStats *stats = m_snapshot.mapping(mapping.id);
    MappingState state = stats ? stats->state : MappingState::Off;
    // Until the engine has caught up with an edit, show what the user asked for.
    if (!mapping.enabled)
        state = MappingState::Off;
    else if (!stats || stats->state == MappingState::Off)
        state = MappingState::Connecting;

    if (role == Qt::CheckStateRole && index.column() == EnabledColumn)
        return mapping.enabled ? Qt::Checked : Qt::Unchecked;
    if (role == Qt::DecorationRole && index.column() == StateColumn)
        return Formatting::stateIcon(state);
    if (role == Qt::TextAlignmentRole && index.column() >= RateInColumn)
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        if (index.column() == StateColumn || index.column() == NameColumn) {
            const QString detail =
                stats && mapping.enabled ? Formatting::mappingDetail(mapping, *stats) : QString();
            return detail.isEmpty() ? QVariant() : detail;
        }
        if (index.column() == ListenColumn && mapping.direction == ForwardSpec::Direction::Reverse)
            return tr("The remote listens on this address");
        if (index.column() == EnabledColumn)
            return mapping.enabled ? tr("On: click to switch this mapping off")
                                   : tr("Off: click to switch this mapping on");
        return QVariant();
    }
    if (role == RateRole && stats && mapping.enabled) {
        if (index.column() == RateInColumn)
            return stats->rateIn;
        if (index.column() == RateOutColumn)
            return stats->rateOut;
    }
    if (role == Qt::AccessibleTextRole && index.column() == EnabledColumn)
        return mapping.enabled ? tr("On") : tr("Off");
    if (role != Qt::DisplayRole)
        return QVariant();

    switch (index.column()) {
    case NameColumn:
        return mapping.name;
    case DirectionColumn:
        switch (mapping.direction) {
        case ForwardSpec::Direction::Local:
            return tr("Local");
        case ForwardSpec::Direction::Reverse:
            return tr("Reverse");
        case ForwardSpec::Direction::Dynamic:
            return tr("Dynamic (SOCKS)");
        }
        return QVariant();
    case ProtocolColumn:
        return mapping.protocol == MappingConfig::Protocol::Tcp ? tr("TCP") : tr("UDP");
    case ListenColumn:
        // Port 0 stands for the port actually bound, once known.
        return mapping.bindPort == 0 && mapping.enabled && stats && !stats->listenEndpoint.isEmpty()
                   ? stats->listenEndpoint
                   : mapping.bindEndpoint();
    case TargetColumn:
        return mapping.targetEndpoint();
    case RemoteColumn: {
        const int remote = profile.remoteIndex(mapping.remoteId);
        return remote < 0 ? QString() : profile.remotes.at(remote).name;
    }
    case StateColumn:
        return Formatting::mappingState(state);
    case RateInColumn:
        return stats && mapping.enabled ? Formatting::rate(stats->rateIn) : QString();
    case RateOutColumn:
        return stats && mapping.enabled ? Formatting::rate(stats->rateOut) : QString();
    case TotalColumn:
        return stats && mapping.enabled ? tr("%1 / %2").arg(Formatting::bytes(stats->bytesIn),
                                                            Formatting::bytes(stats->bytesOut))
                                        : QString();
    case ConnectionsColumn:
        return stats && mapping.enabled ? QString::number(stats->openChannels) : QString();
    default:
        return QVariant();
    }
}

QVariant MappingTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
        case RateInColumn:
            return Formatting::rateInExplained();
        case RateOutColumn:
            return Formatting::rateOutExplained();
        case TotalColumn:
            return tr("Bytes received / sent since the mapping started");
        default:
            return QVariant();
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case EnabledColumn:
        return tr("On");
    case NameColumn:
        return tr("Name");
    case DirectionColumn:
        return tr("Direction");
    case ProtocolColumn:
        return tr("Protocol");
    case ListenColumn:
        return tr("Listen on");
    case TargetColumn:
        return tr("Target");
    case RemoteColumn:
        return tr("Remote");
    case StateColumn:
        return tr("State");
    case RateInColumn:
        return tr("In");
    case RateOutColumn:
        return tr("Out");
    case TotalColumn:
        return tr("Total");
    case ConnectionsColumn:
        return tr("Connections");
    default:
        return QVariant();
    }
}

Qt::ItemFlags MappingTableModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags flags = QAbstractTableModel::flags(index);
    if (index.column() == EnabledColumn)
        flags |= Qt::ItemIsUserCheckable;
    return flags;
}

bool MappingTableModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (!index.isValid() || index.column() != EnabledColumn || role != Qt::CheckStateRole)
        return false;
    m_controller->setMappingEnabled(mappingIdAt(index.row()),
                                    value.value<Qt::CheckState>() == Qt::Checked);
    return true;
}

QString MappingTableModel::mappingIdAt(int row) const
{
    const Profile &profile = m_controller->profile();
    return row >= 0 && row < profile.mappings.size() ? profile.mappings.at(row).id : QString();
}

int MappingTableModel::rowOf(const QString &mappingId) const
{
    return m_controller->profile().mappingIndex(mappingId);
}

void MappingTableModel::onProfileChanged()
{
    QStringList ids;
    for (const MappingConfig &mapping : m_controller->profile().mappings)
        ids.append(mapping.id);
    // Same rows in the same order: keep the selection and the keyboard position.
    if (ids == m_ids) {
        if (!ids.isEmpty())
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_ids = ids;
    endResetModel();
}

void MappingTableModel::onSnapshot(const EngineSnapshot &snapshot)
{
    m_snapshot = snapshot;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

} // namespace wstunnel
