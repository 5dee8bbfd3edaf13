#include "ChannelTableModel.h"

#include "Formatting.h"

namespace wstunnel {

ChannelTableModel::ChannelTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void ChannelTableModel::setMapping(const QString &mappingId, const EngineSnapshot &snapshot)
{
    if (mappingId == m_mappingId) {
        update(snapshot);
        return;
    }
    beginResetModel();
    m_mappingId = mappingId;
    const MappingStats *stats = snapshot.mapping(mappingId);
    m_channels = stats ? stats->channels : QList<ChannelStats>();
    endResetModel();
}

void ChannelTableModel::update(const EngineSnapshot &snapshot)
{
    const MappingStats *stats = snapshot.mapping(m_mappingId);
    const QList<ChannelStats> channels = stats ? stats->channels : QList<ChannelStats>();
    bool sameRows = channels.size() == m_channels.size();
    for (qsizetype i = 0; sameRows && i < channels.size(); ++i)
        sameRows = channels.at(i).id == m_channels.at(i).id;
    if (!sameRows) {
        // Rows come and go one by one so that the selection stays on its channel.
        for (int row = int(m_channels.size()) - 1; row >= 0; --row) {
            const quint32 id = m_channels.at(row).id;
            const bool stays = std::any_of(channels.cbegin(), channels.cend(),
                                           [id](const ChannelStats &c) { return c.id == id; });
            if (stays)
                continue;
            beginRemoveRows(QModelIndex(), row, row);
            m_channels.removeAt(row);
            endRemoveRows();
        }
        for (const ChannelStats &channel : channels) {
            if (rowOf(channel.id) >= 0)
                continue;
            beginInsertRows(QModelIndex(), int(m_channels.size()), int(m_channels.size()));
            m_channels.append(channel);
            endInsertRows();
        }
    }
    for (const ChannelStats &channel : channels)
        m_channels[rowOf(channel.id)] = channel;
    if (!m_channels.isEmpty())
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

quint32 ChannelTableModel::channelIdAt(int row) const
{
    return row >= 0 && row < m_channels.size() ? m_channels.at(row).id : 0;
}

int ChannelTableModel::rowOf(quint32 channelId) const
{
    for (int row = 0; row < m_channels.size(); ++row) {
        if (m_channels.at(row).id == channelId)
            return row;
    }
    return -1;
}

int ChannelTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_channels.size());
}

int ChannelTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ChannelTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_channels.size())
        return QVariant();
    const ChannelStats &channel = m_channels.at(index.row());
    if (role == Qt::TextAlignmentRole && index.column() >= AgeColumn)
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && channel.datagram && index.column() == DroppedColumn)
        return tr("Datagrams dropped instead of queued: out, those that did not fit the flow's "
                  "window or the tunnel; in, those the local socket could not take");
    if (role == RateRole && index.column() == RateInColumn)
        return channel.rateIn;
    if (role == RateRole && index.column() == RateOutColumn)
        return channel.rateOut;
    if (role != Qt::DisplayRole)
        return QVariant();
    switch (index.column()) {
    case ClientColumn:
        return channel.fromRemote ? tr("%1 on the remote").arg(channel.peer) : channel.peer;
    case TargetColumn:
        return channel.target;
    case AgeColumn:
        return Formatting::duration(channel.ageMs);
    case BytesInColumn:
        return Formatting::bytes(channel.bytesIn);
    case BytesOutColumn:
        return Formatting::bytes(channel.bytesOut);
    case DatagramsColumn:
        return channel.datagram
                   ? tr("%1 in, %2 out").arg(channel.datagramsIn).arg(channel.datagramsOut)
                   : QString();
    case DroppedColumn:
        return channel.datagram ? tr("%1 in, %2 out").arg(channel.droppedIn).arg(channel.droppedOut)
                                : QString();
    case RateInColumn:
        return Formatting::rate(channel.rateIn);
    case RateOutColumn:
        return Formatting::rate(channel.rateOut);
    default:
        return QVariant();
    }
}

QVariant ChannelTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        if (section == RateInColumn)
            return Formatting::rateInExplained();
        if (section == RateOutColumn)
            return Formatting::rateOutExplained();
        return QVariant();
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case ClientColumn:
        return tr("Client");
    case TargetColumn:
        return tr("Target");
    case AgeColumn:
        return tr("Age");
    case BytesInColumn:
        return tr("Received");
    case BytesOutColumn:
        return tr("Sent");
    case DatagramsColumn:
        return tr("Datagrams");
    case DroppedColumn:
        return tr("Dropped");
    case RateInColumn:
        return tr("In");
    case RateOutColumn:
        return tr("Out");
    default:
        return QVariant();
    }
}

} // namespace wstunnel
