#pragma once

#include <QHash>
#include <QtGlobal>

#include <list>

namespace wstunnel {

// Items ordered by when they were last used, each with that time: touching, removing and finding
// the least recently used one take constant time. UDP flows use it for idle expiry and for
// evicting the oldest flow at a cap, at every datagram.
template <typename T> class RecencyList
{
public:
    // Marks item as used at timeMs (a monotonic clock), adding it if new.
    void touch(const T &item, qint64 timeMs)
    {
        const auto found = m_positions.constFind(item);
        if (found == m_positions.constEnd()) {
            m_entries.push_back(Entry{item, timeMs});
            m_positions.insert(item, std::prev(m_entries.end()));
            return;
        }
        // Splicing moves the node without allocating, and keeps its iterator valid.
        const auto position = found.value();
        position->timeMs = timeMs;
        m_entries.splice(m_entries.end(), m_entries, position);
    }

    void remove(const T &item)
    {
        const auto found = m_positions.constFind(item);
        if (found == m_positions.constEnd())
            return;
        m_entries.erase(found.value());
        m_positions.erase(found);
    }

    bool contains(const T &item) const { return m_positions.contains(item); }
    bool isEmpty() const { return m_entries.empty(); }
    qsizetype size() const { return m_positions.size(); }
    // The least recently used item and its time; only while not empty.
    const T &oldest() const { return m_entries.front().item; }
    qint64 oldestTimeMs() const { return m_entries.front().timeMs; }

private:
    struct Entry
    {
        T item;
        qint64 timeMs;
    };
    std::list<Entry> m_entries; // least recently used first
    QHash<T, typename std::list<Entry>::iterator> m_positions;
};

} // namespace wstunnel
