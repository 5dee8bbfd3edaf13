#include "TrafficHistory.h"

#include <QSet>

namespace wstunnel {

void TrafficHistory::record(const EngineSnapshot &snapshot, qint64 nowMs)
{
    QSet<QString> liveMappings;
    QSet<QString> liveChannels;
    for (const MappingStats &mapping : snapshot.mappings) {
        liveMappings.insert(mapping.id);
        append(m_mappings[mapping.id], Sample{nowMs, mapping.rateIn, mapping.rateOut});
        for (const ChannelStats &channel : mapping.channels) {
            const QString key = channelKey(mapping.id, channel.id);
            liveChannels.insert(key);
            append(m_channels[key], Sample{nowMs, channel.rateIn, channel.rateOut});
        }
    }
    m_mappings.removeIf([&](const auto &entry) { return !liveMappings.contains(entry.key()); });
    m_channels.removeIf([&](const auto &entry) { return !liveChannels.contains(entry.key()); });
}

QList<TrafficHistory::Sample> TrafficHistory::mapping(const QString &mappingId) const
{
    return m_mappings.value(mappingId);
}

QList<TrafficHistory::Sample> TrafficHistory::channel(const QString &mappingId,
                                                      quint32 channelId) const
{
    return m_channels.value(channelKey(mappingId, channelId));
}

QString TrafficHistory::channelKey(const QString &mappingId, quint32 channelId)
{
    return mappingId + QLatin1Char('/') + QString::number(channelId);
}

void TrafficHistory::append(QList<Sample> &samples, const Sample &sample)
{
    samples.append(sample);
    const qint64 oldest = sample.timeMs - kWindowMs;
    qsizetype expired = 0;
    while (expired < samples.size() && samples.at(expired).timeMs < oldest)
        ++expired;
    samples.remove(0, expired);
}

} // namespace wstunnel
