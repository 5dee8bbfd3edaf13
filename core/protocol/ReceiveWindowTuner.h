#pragma once

#include "WindowBudget.h"

#include <QtGlobal>

#include <array>
#include <functional>

namespace wstunnel {

// Receive-window autotuning of one stream channel, in the spirit of Linux's receive-buffer
// autotuning: the window a channel grants grows while the path, not the local reader, is what
// holds the sender back, and shrinks back toward the initial window when many channels share
// the memory budget.
//
// Round trip: the session's, the smallest time seen from a credit that raised the granted limit
// to the first data beyond the old limit (which the sender could not send before that credit),
// counted only when data had stopped exactly at that old limit, so that the sender was waiting
// for the credit rather than held back by the path's rate or its own source. Every raising
// credit is remembered until data passes its old limit: credits often reach the sender several
// at once (they return as fast as the reader takes a burst), and the sender then stops at the
// limit of the last one it saw, not at the one a single sample in flight would be waiting for.
// Growth: every two round trips the tuner looks at what the local side took per round trip.
// When that is at least half the window (a sender held back by the window moves about seven eighths
// of it per round trip, as credit returns every quarter) and the local side has no more than a
// quarter of the window still to take at some moment of those two round trips (the reader keeps
// up), the window doubles, up to the maximum, the fair share of the session's and the process's
// budgets, and what is left in them. A slow reader takes less than the window per round trip, so
// its window never grows; the first 8 MiB of a channel do not count, as the local kernel's socket
// buffers take them at any reader's speed. Shrinking: a channel above its fair share announces a
// smaller window with each credit, never moving the limit it granted (consumed + window) backwards,
// and gives the difference back.
class ReceiveWindowTuner
{
public:
    // What the tuners of one session share.
    struct Context
    {
        quint32 maxWindow = 0;
        qint64 sessionBudgetLimit = 0;
        qint64 processBudgetLimit = 0;
        WindowBudget *sessionBudget = nullptr;
        WindowBudget *processBudget = nullptr;
        std::function<qint64()> clockUs; // monotonic microseconds
        qint64 roundTripUs = 0;          // 0 until measured
        // Changes when the session moves to another link: samples timed across it are void.
        int pathGeneration = 0;

        // The session's link changed (a resume): the round trip is measured afresh.
        void forgetRoundTrip()
        {
            roundTripUs = 0;
            ++pathGeneration;
        }
    };

    // The first bytes of a transfer go into the kernel's socket buffers between the endpoint and
    // its reader (Linux grows a send buffer to 4 MiB by default), however slowly the reader
    // reads: only what a channel takes beyond them says how fast its reader is. A channel needs
    // no tuner before it has taken this much, so idle connections pay nothing for one.
    static constexpr quint64 kLocalBufferAllowance = 8 * 1024 * 1024;

    ReceiveWindowTuner(Context &context, quint32 initialWindow);
    ~ReceiveWindowTuner();
    ReceiveWindowTuner(const ReceiveWindowTuner &) = delete;
    ReceiveWindowTuner &operator=(const ReceiveWindowTuner &) = delete;

    quint32 window() const { return m_window; }
    quint32 initialWindow() const { return m_initialWindow; }

    // Data up to receivedOffset has arrived.
    void dataReceived(quint64 receivedOffset);
    // The local side has taken everything up to consumedOffset, and has buffered bytes still to
    // take. True when the window grew: announce it now rather than at the next quarter.
    bool consumed(quint64 consumedOffset, quint64 buffered);
    // A credit for consumedOffset is being sent; grantedLimit is the highest limit granted so
    // far. Returns the window to announce in it.
    quint32 windowForCredit(quint64 consumedOffset, quint64 grantedLimit);

private:
    void takeRoundTripSample(qint64 sampleUs);
    // The session moved to another link: credits sent over the old one time nothing.
    void forgetCreditsOfAnotherPath();
    bool grow();
    // The most extra window this channel may hold: an even share of both budgets.
    qint64 fairShare() const;
    void setExtra(qint64 extra);

    Context &m_context;
    const quint32 m_initialWindow;
    quint32 m_window;
    // Credits that raised the granted limit and that data has not passed yet, oldest first: the
    // limit before each, and when it was sent.
    struct RaisingCredit
    {
        quint64 oldLimit = 0;
        qint64 sentUs = 0;
    };
    // A credit goes every quarter of the window, so a handful are ever outstanding.
    static constexpr int kCreditsTracked = 16;
    std::array<RaisingCredit, kCreditsTracked> m_credits;
    int m_firstCredit = 0;
    int m_creditCount = 0;
    int m_creditGeneration = 0;
    quint64 m_lastReceived = 0;
    // What the local side took since the start of the current round trip.
    bool m_measuring = false;
    qint64 m_periodStartUs = 0;
    quint64 m_periodStartOffset = 0;
    quint64 m_leastBuffered = 0; // the least the local side had still to take in the period
};

} // namespace wstunnel
