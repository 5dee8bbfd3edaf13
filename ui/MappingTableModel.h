#pragma once

#include "engine/EngineSnapshot.h"

#include <QAbstractTableModel>
#include <QStringList>

namespace wstunnel {

class AppController;

// The mapping table: the profile's mappings in their order, with the engine's live state,
// rates and connection counts. The "On" column switches a mapping on and off.
class MappingTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        EnabledColumn,
        NameColumn,
        DirectionColumn,
        ProtocolColumn,
        ListenColumn,
        TargetColumn,
        RemoteColumn,
        StateColumn,
        RateInColumn,
        RateOutColumn,
        TotalColumn,
        ConnectionsColumn,
        ColumnCount
    };

    // The rate columns give the rate in bytes per second as a number under this role.
    static constexpr int RateRole = Qt::UserRole;

    explicit MappingTableModel(AppController *controller, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;

    QString mappingIdAt(int row) const;
    int rowOf(const QString &mappingId) const;

private:
    void onProfileChanged();
    void onSnapshot(const EngineSnapshot &snapshot);

    AppController *m_controller;
    EngineSnapshot m_snapshot;
    QStringList m_ids;
};

} // namespace wstunnel
