#include "ReceiveWindowTuner.h"

#include <algorithm>
#include <utility>

namespace wstunnel {

ReceiveWindowTuner::ReceiveWindowTuner(Context &context, quint32 initialWindow)
    : m_context(context)
    , m_initialWindow(initialWindow)
    , m_window(initialWindow)
{
}

ReceiveWindowTuner::~ReceiveWindowTuner()
{
    setExtra(0);
}

void ReceiveWindowTuner::dataReceived(quint64 receivedOffset)
{
    forgetCreditsOfAnotherPath();
    const quint64 previous = std::exchange(m_lastReceived, receivedOffset);
    while (m_creditCount > 0) {
        const RaisingCredit &credit = m_credits[size_t(m_firstCredit)];
        if (credit.oldLimit >= receivedOffset)
            return;
        // Data that had stopped exactly at a limit we granted: the sender was waiting there,
        // and sent this as soon as the credit that raised that limit reached it.
        if (credit.oldLimit == previous)
            takeRoundTripSample(m_context.clockUs() - credit.sentUs);
        m_firstCredit = (m_firstCredit + 1) % kCreditsTracked;
        --m_creditCount;
    }
}

void ReceiveWindowTuner::takeRoundTripSample(qint64 sampleUs)
{
    // At least the round trip (data beyond the old limit could only follow the credit), a
    // little more by how long the peer took to react: the smallest one seen is the path's.
    const qint64 sample = qMax<qint64>(1, sampleUs);
    if (m_context.roundTripUs == 0 || sample < m_context.roundTripUs)
        m_context.roundTripUs = sample;
}

void ReceiveWindowTuner::forgetCreditsOfAnotherPath()
{
    if (m_creditGeneration == m_context.pathGeneration)
        return;
    m_creditGeneration = m_context.pathGeneration;
    m_creditCount = 0;
}

bool ReceiveWindowTuner::consumed(quint64 consumedOffset, quint64 buffered)
{
    const qint64 roundTrip = m_context.roundTripUs;
    if (roundTrip == 0 || consumedOffset < kLocalBufferAllowance)
        return false;
    const qint64 now = m_context.clockUs();
    if (!m_measuring) {
        m_measuring = true;
        m_periodStartUs = now;
        m_periodStartOffset = consumedOffset;
        m_leastBuffered = buffered;
        return false;
    }
    m_leastBuffered = std::min(m_leastBuffered, buffered);
    // Two round trips: the local socket's kernel buffers first take a burst at any reader's
    // speed, and over two round trips such a burst counts for half as much.
    const qint64 elapsed = now - m_periodStartUs;
    if (elapsed < 2 * roundTrip)
        return false;
    const quint64 taken = consumedOffset - m_periodStartOffset;
    // Whether the reader caught up at some moment of the period, not at this one: data comes in
    // bursts as the sender's credit returns, and the check, made with the first bytes taken
    // after the period ends, would otherwise often fall just after a burst came in.
    const quint64 leastBuffered = std::exchange(m_leastBuffered, buffered);
    m_periodStartUs = now;
    m_periodStartOffset = consumedOffset;
    // Scaled to one round trip: a period that ran longer (no event came sooner, or the transfer
    // paused) says less about the rate.
    const double takenPerRoundTrip = double(taken) * double(roundTrip) / double(elapsed);
    if (takenPerRoundTrip * 2 < double(m_window) || leastBuffered > m_window / 4)
        return false;
    return grow();
}

bool ReceiveWindowTuner::grow()
{
    const qint64 extra = qint64(m_window) - m_initialWindow;
    const qint64 target = qMin(
        qMin(2 * qint64(m_window), qint64(m_context.maxWindow)) - m_initialWindow, fairShare());
    const qint64 wanted = target - extra;
    if (wanted <= 0)
        return false;
    const qint64 fromSession = m_context.sessionBudget->take(wanted, m_context.sessionBudgetLimit);
    const qint64 taken = m_context.processBudget->take(fromSession, m_context.processBudgetLimit);
    m_context.sessionBudget->give(fromSession - taken);
    if (taken == 0)
        return false;
    if (extra == 0) {
        m_context.sessionBudget->addHolder();
        m_context.processBudget->addHolder();
    }
    m_window = quint32(m_window + taken);
    return true;
}

qint64 ReceiveWindowTuner::fairShare() const
{
    const bool newcomer = m_window == m_initialWindow;
    return qMin(m_context.sessionBudget->fairShare(m_context.sessionBudgetLimit, newcomer),
                m_context.processBudget->fairShare(m_context.processBudgetLimit, newcomer));
}

quint32 ReceiveWindowTuner::windowForCredit(quint64 consumedOffset, quint64 grantedLimit)
{
    if (m_window > m_initialWindow) {
        const quint64 fair = m_initialWindow + quint64(fairShare());
        // The limit already granted stays granted: the window shrinks only as credit returns.
        const quint64 stillGranted =
            grantedLimit > consumedOffset ? grantedLimit - consumedOffset : 0;
        const quint64 window = std::min<quint64>(m_window, std::max(fair, stillGranted));
        setExtra(qint64(window) - m_initialWindow);
    }
    if (consumedOffset + m_window > grantedLimit) {
        forgetCreditsOfAnotherPath();
        // With all slots taken the oldest goes: it only costs that sample.
        if (m_creditCount == kCreditsTracked) {
            m_firstCredit = (m_firstCredit + 1) % kCreditsTracked;
            --m_creditCount;
        }
        m_credits[size_t((m_firstCredit + m_creditCount) % kCreditsTracked)] = {
            grantedLimit, m_context.clockUs()};
        ++m_creditCount;
    }
    return m_window;
}

// Sets the window to the initial one plus extra, giving back to the budgets what it no longer
// holds. Only ever lowers the window; growing takes from the budgets in grow().
void ReceiveWindowTuner::setExtra(qint64 extra)
{
    const qint64 held = qint64(m_window) - m_initialWindow;
    if (extra >= held)
        return;
    m_context.sessionBudget->give(held - extra);
    m_context.processBudget->give(held - extra);
    if (extra == 0) {
        m_context.sessionBudget->removeHolder();
        m_context.processBudget->removeHolder();
    }
    m_window = quint32(m_initialWindow + extra);
}

} // namespace wstunnel
