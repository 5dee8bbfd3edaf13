#pragma once

#include <QHash>
#include <QHostAddress>

#include <functional>

namespace wstunnel {

// Failed token checks per source address, in the spirit of OpenSSH's PerSourcePenalties: after
// maxFailures in a row an address is refused for penaltyMs, whatever it presents, so guessing
// tokens costs time while other addresses are served as before. The table is bounded: when full,
// the address heard from least recently is forgotten.
class SourcePenalties
{
public:
    using Clock = std::function<qint64()>; // milliseconds, monotonic

    static constexpr int kMaxSources = 65536;

    SourcePenalties(int maxFailures, int penaltyMs, Clock clock = {});

    // Whether source is refused right now.
    bool isPenalized(const QHostAddress &source);
    // Counts a failure; true when it starts a penalty (the one moment worth a log line).
    bool recordFailure(const QHostAddress &source);
    void recordSuccess(const QHostAddress &source);
    int penaltyMs() const { return m_penaltyMs; }
    int sourceCount() const { return int(m_sources.size()); }

private:
    struct Source
    {
        int failures = 0;
        qint64 penalizedUntil = 0;
        qint64 lastSeen = 0;
    };
    void forgetLeastRecent();

    int m_maxFailures;
    int m_penaltyMs;
    Clock m_clock;
    QHash<QHostAddress, Source> m_sources;
};

} // namespace wstunnel
