#pragma once

#include "engine/EngineSnapshot.h"

#include <QAbstractTableModel>

namespace wstunnel {

// The open connections of one mapping, one row per channel, from the latest engine snapshot. A
// UDP mapping's rows are its flows, with their datagrams and drops; a TCP row leaves those empty.
class ChannelTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        ClientColumn,
        TargetColumn,
        AgeColumn,
        BytesInColumn,
        BytesOutColumn,
        DatagramsColumn,
        DroppedColumn,
        RateInColumn,
        RateOutColumn,
        ColumnCount
    };

    // The rate columns give the rate in bytes per second as a number under this role.
    static constexpr int RateRole = Qt::UserRole;

    explicit ChannelTableModel(QObject *parent = nullptr);

    void setMapping(const QString &mappingId, const EngineSnapshot &snapshot);
    void update(const EngineSnapshot &snapshot);
    QString mappingId() const { return m_mappingId; }
    quint32 channelIdAt(int row) const;
    int rowOf(quint32 channelId) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QString m_mappingId;
    QList<ChannelStats> m_channels;
};

} // namespace wstunnel
