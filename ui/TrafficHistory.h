#pragma once

#include "engine/EngineSnapshot.h"

#include <QHash>
#include <QList>
#include <QString>

namespace wstunnel {

// The last minute of rates per mapping and per open channel, fed from engine snapshots, for the
// throughput graph.
class TrafficHistory
{
public:
    struct Sample
    {
        qint64 timeMs = 0;
        double rateIn = 0;
        double rateOut = 0;
    };

    static constexpr qint64 kWindowMs = 60 * 1000;

    void record(const EngineSnapshot &snapshot, qint64 nowMs);
    QList<Sample> mapping(const QString &mappingId) const;
    QList<Sample> channel(const QString &mappingId, quint32 channelId) const;

private:
    static QString channelKey(const QString &mappingId, quint32 channelId);
    static void append(QList<Sample> &samples, const Sample &sample);

    QHash<QString, QList<Sample>> m_mappings;
    QHash<QString, QList<Sample>> m_channels;
};

} // namespace wstunnel
