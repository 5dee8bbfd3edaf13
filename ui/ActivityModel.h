#pragma once

#include "engine/EngineEvent.h"

#include <QAbstractTableModel>
#include <QList>

namespace wstunnel {

class AppController;

// The activity log: the engine's session and connection events, newest first, worded for the
// user when they arrive (so that a renamed or deleted mapping keeps its entries readable).
// Bounded: beyond kMaxEvents the oldest go.
class ActivityModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    static constexpr int kMaxEvents = 2000;

    enum Column { TimeColumn, MappingColumn, EventColumn, PeerColumn, DetailColumn, ColumnCount };

    explicit ActivityModel(AppController *controller, QObject *parent = nullptr);

    void append(const QList<EngineEvent> &events);
    // The row as one line of text, its columns separated by tabs, for the clipboard.
    QString rowText(int row) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Entry
    {
        qint64 timeMs = 0;
        QString mapping;
        QString what;
        QString peer;
        QString detail;
        bool problem = false;
    };

    Entry entryFor(const EngineEvent &event) const;
    QString field(const Entry &entry, int column) const;

    AppController *m_controller;
    QList<Entry> m_entries; // newest first
};

} // namespace wstunnel
