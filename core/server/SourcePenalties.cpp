#include "SourcePenalties.h"

#include <QDeadlineTimer>

#include <utility>

namespace wstunnel {

SourcePenalties::SourcePenalties(int maxFailures, int penaltyMs, Clock clock)
    : m_maxFailures(maxFailures)
    , m_penaltyMs(penaltyMs)
    , m_clock(std::move(clock))
{
    if (!m_clock)
        m_clock = [] { return QDeadlineTimer::current().deadline(); };
}

bool SourcePenalties::isPenalized(const QHostAddress &source)
{
    const auto found = m_sources.find(source);
    if (found == m_sources.end() || found->penalizedUntil == 0)
        return false;
    if (m_clock() < found->penalizedUntil)
        return true;
    // Served its time: the address starts again from no failures.
    m_sources.erase(found);
    return false;
}

bool SourcePenalties::recordFailure(const QHostAddress &source)
{
    if (m_maxFailures <= 0)
        return false;
    if (!m_sources.contains(source) && m_sources.size() >= kMaxSources)
        forgetLeastRecent();
    Source &entry = m_sources[source];
    const qint64 now = m_clock();
    entry.lastSeen = now;
    if (entry.penalizedUntil != 0 || ++entry.failures < m_maxFailures)
        return false;
    entry.penalizedUntil = now + m_penaltyMs;
    return true;
}

void SourcePenalties::recordSuccess(const QHostAddress &source)
{
    m_sources.remove(source);
}

void SourcePenalties::forgetLeastRecent()
{
    auto oldest = m_sources.begin();
    for (auto it = m_sources.begin(); it != m_sources.end(); ++it) {
        if (it->lastSeen < oldest->lastSeen)
            oldest = it;
    }
    if (oldest != m_sources.end())
        m_sources.erase(oldest);
}

} // namespace wstunnel
