#pragma once

#include <QtGlobal>

#include <atomic>

namespace wstunnel {

// Bytes of receive window granted beyond each channel's initial window, shared by the channels
// of one session or by every session of a process, and how many channels hold some. A budget
// only counts; its limit is the caller's (SessionLimits), so that every end of a process can
// draw on the same process-wide count. Atomic, as the desktop app's engine and built-in remote
// may run sessions on more than one thread.
class WindowBudget
{
public:
    WindowBudget() = default;
    WindowBudget(const WindowBudget &) = delete;
    WindowBudget &operator=(const WindowBudget &) = delete;

    // The budget of every session of this process.
    static WindowBudget &processWide();

    qint64 used() const { return m_used.load(); }
    int holders() const { return m_holders.load(); }
    // Takes up to wanted bytes, as much as fits under limit; returns what it took.
    qint64 take(qint64 wanted, qint64 limit);
    void give(qint64 bytes);
    // A channel holding some of the budget counts for the fair share of the others.
    void addHolder();
    void removeHolder();
    // What each holder may have when the budget is shared evenly, counting one more holder than
    // now when newcomer is set.
    qint64 fairShare(qint64 limit, bool newcomer) const;

private:
    std::atomic<qint64> m_used{0};
    std::atomic<int> m_holders{0};
};

} // namespace wstunnel
