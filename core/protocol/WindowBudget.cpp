#include "WindowBudget.h"

namespace wstunnel {

WindowBudget &WindowBudget::processWide()
{
    static WindowBudget budget;
    return budget;
}

qint64 WindowBudget::take(qint64 wanted, qint64 limit)
{
    qint64 used = m_used.load();
    for (;;) {
        const qint64 taken = qMax(qint64(0), qMin(wanted, limit - used));
        if (taken == 0 || m_used.compare_exchange_weak(used, used + taken))
            return taken;
    }
}

void WindowBudget::give(qint64 bytes)
{
    m_used -= bytes;
}

void WindowBudget::addHolder()
{
    ++m_holders;
}

void WindowBudget::removeHolder()
{
    --m_holders;
}

qint64 WindowBudget::fairShare(qint64 limit, bool newcomer) const
{
    return limit / qMax(1, m_holders.load() + (newcomer ? 1 : 0));
}

} // namespace wstunnel
