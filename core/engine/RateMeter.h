#pragma once

#include <QList>
#include <QtGlobal>

namespace wstunnel {

// Turns two growing byte counters (in and out) into rates averaged over the last
// kRateWindowMs. A rate over one snapshot interval jumps between zero and bursts whenever bytes
// arrive in window-sized batches; a window of a few intervals shows what a download tool reports.
class RateMeter
{
public:
    // Starts counting at startMs with the counters at zero.
    explicit RateMeter(qint64 startMs = 0);

    void record(qint64 nowMs, quint64 bytesIn, quint64 bytesOut);
    double rateIn() const;
    double rateOut() const;

private:
    struct Sample
    {
        qint64 timeMs = 0;
        quint64 bytesIn = 0;
        quint64 bytesOut = 0;
    };

    static double rate(quint64 now, quint64 before, qint64 spanMs);

    // Oldest first; the first one is the newest that is at least a window old, once there is one.
    QList<Sample> m_samples;
};

} // namespace wstunnel
