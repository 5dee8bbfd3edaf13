#include "RateMeter.h"

#include "EngineSnapshot.h"

namespace wstunnel {

RateMeter::RateMeter(qint64 startMs)
{
    m_samples.append(Sample{startMs, 0, 0});
}

void RateMeter::record(qint64 nowMs, quint64 bytesIn, quint64 bytesOut)
{
    m_samples.append(Sample{nowMs, bytesIn, bytesOut});
    const qint64 windowStart = nowMs - kRateWindowMs;
    qsizetype expired = 0;
    while (expired + 1 < m_samples.size() && m_samples.at(expired + 1).timeMs <= windowStart)
        ++expired;
    m_samples.remove(0, expired);
}

double RateMeter::rateIn() const
{
    return rate(m_samples.last().bytesIn, m_samples.first().bytesIn,
                m_samples.last().timeMs - m_samples.first().timeMs);
}

double RateMeter::rateOut() const
{
    return rate(m_samples.last().bytesOut, m_samples.first().bytesOut,
                m_samples.last().timeMs - m_samples.first().timeMs);
}

double RateMeter::rate(quint64 now, quint64 before, qint64 spanMs)
{
    return now >= before && spanMs > 0 ? double(now - before) * 1000.0 / double(spanMs) : 0.0;
}

} // namespace wstunnel
