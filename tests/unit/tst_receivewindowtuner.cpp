#include "protocol/ChannelWindow.h"
#include "protocol/ReceiveWindowTuner.h"
#include "protocol/WindowBudget.h"

#include <QTest>

#include <deque>
#include <memory>
#include <vector>

using namespace wstunnel;

namespace {

constexpr quint32 kMiB = 1024 * 1024;
constexpr quint32 kInitialWindow = 2 * kMiB;
// The simulation advances in steps of 100 µs of a fake clock.
constexpr qint64 kStepUs = 100;

// One channel between a sender and a receiver whose window a tuner sets, over a path with a
// fixed round trip and rate, drained by a reader of a fixed rate. Data and credit travel half a
// round trip each way; the sender always has more to send.
class SimulatedChannel
{
public:
    SimulatedChannel(ReceiveWindowTuner::Context &context, qint64 pathBytesPerStep,
                     qint64 readerBytesPerStep, qint64 readerPeriodSteps = 1,
                     qint64 senderPeriodSteps = 1)
        : m_tuner(context, kInitialWindow)
        , m_receiver(kInitialWindow)
        , m_pathBytesPerStep(pathBytesPerStep)
        , m_readerBytesPerStep(readerBytesPerStep)
        , m_readerPeriodSteps(readerPeriodSteps)
        , m_senderPeriodSteps(senderPeriodSteps)
        , m_senderLimit(kInitialWindow)
    {
    }

    // Returns false when the receiver saw data beyond what it granted, or the sender a limit that
    // went backwards: both would be protocol errors.
    bool step(qint64 nowSteps, qint64 oneWaySteps)
    {
        // A sender that runs only every senderPeriodSteps (an event loop busy elsewhere) takes
        // every credit that came meanwhile at once, and sends what the path took meanwhile.
        const bool senderRuns = nowSteps % m_senderPeriodSteps == 0;
        const qint64 chunk = senderRuns ? qMin<qint64>(m_pathBytesPerStep * m_senderPeriodSteps,
                                                       qint64(m_senderLimit - m_sent))
                                        : 0;
        if (chunk > 0) {
            m_inFlight.push_back({nowSteps + oneWaySteps, m_sent, quint64(chunk)});
            m_sent += quint64(chunk);
        }
        while (!m_inFlight.empty() && m_inFlight.front().due <= nowSteps) {
            const Segment data = m_inFlight.front();
            m_inFlight.pop_front();
            if (!m_receiver.acceptIncoming(data.offset, data.bytes))
                return false;
            m_tuner.dataReceived(m_receiver.receivedOffset());
        }
        if (nowSteps % m_readerPeriodSteps == 0) {
            const quint64 drain =
                qMin<quint64>(m_receiver.buffered(), quint64(m_readerBytesPerStep));
            if (drain > 0) {
                m_receiver.recordConsumed(drain);
                const bool grew =
                    m_tuner.consumed(m_receiver.consumedOffset(), m_receiver.buffered());
                if (grew || m_receiver.creditDue()) {
                    m_receiver.setReceiveWindow(m_tuner.windowForCredit(m_receiver.consumedOffset(),
                                                                        m_receiver.grantedLimit()));
                    const quint64 consumed = m_receiver.takeCredit();
                    m_credits.push_back(
                        {nowSteps + oneWaySteps, consumed, m_receiver.receiveWindow()});
                    m_largestAnnounced = qMax(m_largestAnnounced, m_receiver.receiveWindow());
                }
            }
        }
        while (senderRuns && !m_credits.empty() && m_credits.front().due <= nowSteps) {
            const Segment credit = m_credits.front();
            m_credits.pop_front();
            if (credit.offset + credit.bytes < m_senderLimit)
                return false;
            m_senderLimit = credit.offset + credit.bytes;
        }
        return true;
    }

    quint32 window() const { return m_tuner.window(); }
    quint32 announcedWindow() const { return m_receiver.receiveWindow(); }
    quint32 largestAnnounced() const { return m_largestAnnounced; }
    quint64 delivered() const { return m_receiver.consumedOffset(); }
    quint64 buffered() const { return m_receiver.buffered(); }

private:
    struct Segment
    {
        qint64 due;
        quint64 offset;
        quint64 bytes;
    };

    ReceiveWindowTuner m_tuner;
    ChannelWindow m_receiver;
    qint64 m_pathBytesPerStep;
    qint64 m_readerBytesPerStep;
    qint64 m_readerPeriodSteps;
    qint64 m_senderPeriodSteps;
    quint64 m_sent = 0;
    quint64 m_senderLimit;
    std::deque<Segment> m_inFlight;
    std::deque<Segment> m_credits;
    quint32 m_largestAnnounced = kInitialWindow;
};

// A session's tuning context on a fake clock, with budgets of its own (the process-wide one
// would carry over between test rows).
struct SimulatedSession
{
    SimulatedSession(quint32 maxWindow, qint64 sessionBudget, qint64 processBudget)
    {
        context.maxWindow = maxWindow;
        context.sessionBudgetLimit = sessionBudget;
        context.processBudgetLimit = processBudget;
        context.sessionBudget = &session;
        context.processBudget = &process;
        context.clockUs = [this] { return nowSteps * kStepUs; };
    }

    WindowBudget session;
    WindowBudget process;
    ReceiveWindowTuner::Context context;
    qint64 nowSteps = 0;
};

// Bytes per simulation step for a rate in MiB/s.
qint64 perStep(double mibPerSecond)
{
    return qint64(mibPerSecond * kMiB * kStepUs / 1e6);
}

} // namespace

class ReceiveWindowTunerTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void windowFollowsThePath_data()
    {
        QTest::addColumn<int>("roundTripMs");
        QTest::addColumn<double>("pathMiBps");
        QTest::addColumn<double>("readerMiBps");
        QTest::addColumn<int>("readerPeriodMs");
        QTest::addColumn<int>("maxWindowMiB");
        QTest::addColumn<int>("sessionBudgetMiB");
        QTest::addColumn<int>("processBudgetMiB");
        QTest::addColumn<int>("expectedMiB");

        // A fast reader at 50 ms: 400 MiB/s needs 20 MiB in flight; the window stops at the cap.
        QTest::newRow("fast reader grows to the maximum")
            << 50 << 400.0 << 4000.0 << 1 << 16 << 64 << 256 << 16;
        QTest::newRow("cap respected") << 50 << 400.0 << 4000.0 << 1 << 8 << 64 << 256 << 8;
        // The reader takes 10 MiB/s: 0.5 MiB per round trip, well inside 2 MiB.
        QTest::newRow("slow reader stays") << 50 << 400.0 << 10.0 << 1 << 16 << 64 << 256 << 2;
        // A reader that takes 1 MiB every 10 ms, at a round trip where that rate fits the
        // initial window.
        QTest::newRow("bursty slow reader stays")
            << 5 << 4000.0 << 100.0 << 10 << 16 << 64 << 256 << 2;
        // The path itself carries 15 MiB/s: 0.75 MiB per round trip fits; growing would not help.
        QTest::newRow("slow path stays") << 50 << 15.0 << 4000.0 << 1 << 16 << 64 << 256 << 2;
        // A round trip of 0.3 ms, as on loopback: 10 Gbit/s is a small bandwidth-delay product.
        QTest::newRow("short round trip stays")
            << 0 << 1200.0 << 4000.0 << 1 << 16 << 64 << 256 << 2;
        // 60 MiB/s at 50 ms is 3 MiB per round trip: 8 MiB covers it, 16 is not needed.
        QTest::newRow("grows to the path") << 50 << 60.0 << 4000.0 << 1 << 16 << 64 << 256 << 8;
        QTest::newRow("session budget respected")
            << 50 << 400.0 << 4000.0 << 1 << 16 << 3 << 256 << 5;
        QTest::newRow("process budget respected")
            << 50 << 400.0 << 4000.0 << 1 << 16 << 64 << 1 << 3;
        QTest::newRow("no budget, no growth") << 50 << 400.0 << 4000.0 << 1 << 16 << 0 << 256 << 2;
    }

    void windowFollowsThePath()
    {
        QFETCH(int, roundTripMs);
        QFETCH(double, pathMiBps);
        QFETCH(double, readerMiBps);
        QFETCH(int, readerPeriodMs);
        QFETCH(int, maxWindowMiB);
        QFETCH(int, sessionBudgetMiB);
        QFETCH(int, processBudgetMiB);
        QFETCH(int, expectedMiB);

        SimulatedSession session(quint32(maxWindowMiB) * kMiB, qint64(sessionBudgetMiB) * kMiB,
                                 qint64(processBudgetMiB) * kMiB);
        const qint64 readerPeriodSteps = qMax<qint64>(1, readerPeriodMs * 1000 / kStepUs);
        SimulatedChannel channel(session.context, perStep(pathMiBps),
                                 perStep(readerMiBps) * readerPeriodSteps, readerPeriodSteps);
        // Half a round trip each way, at least one step.
        const qint64 oneWaySteps = qMax<qint64>(1, roundTripMs * 1000 / kStepUs / 2);
        for (; session.nowSteps < 40000; ++session.nowSteps) {
            QVERIFY(channel.step(session.nowSteps, oneWaySteps));
            QVERIFY(session.session.used() <= qint64(sessionBudgetMiB) * kMiB);
            QVERIFY(session.process.used() <= qint64(processBudgetMiB) * kMiB);
        }
        QVERIFY(channel.delivered() > 0);
        QCOMPARE(channel.largestAnnounced(), quint32(expectedMiB) * kMiB);
        QCOMPARE(channel.announcedWindow(), quint32(expectedMiB) * kMiB);
    }

    void roundTripIsTheSmallestCreditToData()
    {
        SimulatedSession session(16 * kMiB, 64 * kMiB, 256 * kMiB);
        SimulatedChannel channel(session.context, perStep(400), perStep(4000));
        for (; session.nowSteps < 5000; ++session.nowSteps)
            QVERIFY(channel.step(session.nowSteps, 250));
        // 50 ms, plus at most the step in which the sender saw the credit.
        QVERIFY2(session.context.roundTripUs >= 50000 && session.context.roundTripUs <= 50100,
                 qPrintable(QString::number(session.context.roundTripUs)));
        session.context.forgetRoundTrip();
        QCOMPARE(session.context.roundTripUs, qint64(0));
    }

    // Credits go every quarter of the window as the reader takes a burst, and reach a sender
    // that runs every few milliseconds several at once: it then sends up to the limit of the last
    // one, and data never stops at the limits the others raised. The round trip is measured all
    // the same (it once was only when data stopped at the limit of the one credit being timed,
    // which with such a rhythm could never happen), and the window grows.
    void roundTripMeasuredWhenCreditsArriveTogether_data()
    {
        QTest::addColumn<int>("senderPeriodMs");
        QTest::addColumn<int>("readerPeriodMs");

        for (int sender : {2, 3, 5, 7})
            for (int reader : {1, 2, 3})
                QTest::addRow("sender every %d ms, reader every %d ms", sender, reader)
                    << sender << reader;
    }

    void roundTripMeasuredWhenCreditsArriveTogether()
    {
        QFETCH(int, senderPeriodMs);
        QFETCH(int, readerPeriodMs);

        SimulatedSession session(16 * kMiB, 64 * kMiB, 256 * kMiB);
        const qint64 readerPeriodSteps = readerPeriodMs * 1000 / kStepUs;
        SimulatedChannel channel(session.context, perStep(4000), perStep(400) * readerPeriodSteps,
                                 readerPeriodSteps, senderPeriodMs * 1000 / kStepUs);
        for (; session.nowSteps < 40000; ++session.nowSteps)
            QVERIFY(channel.step(session.nowSteps, 250));
        // 50 ms, plus at most the sender's and the reader's periods.
        QVERIFY2(session.context.roundTripUs >= 50000 &&
                     session.context.roundTripUs <=
                         50000 + (senderPeriodMs + readerPeriodMs) * 1000,
                 qPrintable(QString::number(session.context.roundTripUs)));
        QVERIFY2(channel.window() > kInitialWindow, qPrintable(QString::number(channel.window())));
    }

    // Channels that start one after another share the budget: the first grows alone, then
    // shrinks to its fair share as the others claim theirs, and no grant moves backwards.
    void channelsShareTheBudget_data()
    {
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("sessionBudgetMiB");
        QTest::addColumn<int>("processBudgetMiB");

        QTest::newRow("two share a session") << 2 << 16 << 256;
        QTest::newRow("four share a session") << 4 << 16 << 256;
        QTest::newRow("eight share a session") << 8 << 32 << 256;
        QTest::newRow("four share the process") << 4 << 64 << 16;
    }

    void channelsShareTheBudget()
    {
        QFETCH(int, channels);
        QFETCH(int, sessionBudgetMiB);
        QFETCH(int, processBudgetMiB);

        const qint64 sessionBudget = qint64(sessionBudgetMiB) * kMiB;
        const qint64 processBudget = qint64(processBudgetMiB) * kMiB;
        const qint64 fairShare = qMin(sessionBudget, processBudget) / channels;
        SimulatedSession session(16 * kMiB, sessionBudget, processBudget);
        std::vector<std::unique_ptr<SimulatedChannel>> all;
        all.push_back(
            std::make_unique<SimulatedChannel>(session.context, perStep(400), perStep(4000)));
        quint32 firstAlone = 0;
        for (; session.nowSteps < 60000; ++session.nowSteps) {
            if (session.nowSteps == 10000) {
                firstAlone = all.front()->window();
                for (int i = 1; i < channels; ++i)
                    all.push_back(std::make_unique<SimulatedChannel>(session.context, perStep(400),
                                                                     perStep(4000)));
            }
            for (auto &channel : all)
                QVERIFY(channel->step(session.nowSteps, 250));
            QVERIFY(session.session.used() <= sessionBudget);
            QVERIFY(session.process.used() <= processBudget);
        }
        QVERIFY(firstAlone > kInitialWindow + fairShare);
        qint64 extra = 0;
        for (auto &channel : all) {
            QVERIFY(channel->window() > kInitialWindow);
            QVERIFY2(channel->window() <= kInitialWindow + fairShare,
                     qPrintable(QString::number(channel->window())));
            extra += channel->window() - kInitialWindow;
        }
        QCOMPARE(session.session.used(), extra);
        QCOMPARE(session.session.holders(), channels);
        all.clear();
        QCOMPARE(session.session.used(), qint64(0));
        QCOMPARE(session.process.used(), qint64(0));
        QCOMPARE(session.session.holders(), 0);
        QCOMPARE(session.process.holders(), 0);
    }

    void shrinkingNeverTakesBackAGrant()
    {
        SimulatedSession session(16 * kMiB, 64 * kMiB, 256 * kMiB);
        session.context.roundTripUs = 1000;
        ReceiveWindowTuner tuner(session.context, kInitialWindow);
        ChannelWindow receiver(kInitialWindow);
        auto credit = [&] {
            receiver.setReceiveWindow(
                tuner.windowForCredit(receiver.consumedOffset(), receiver.grantedLimit()));
            receiver.takeCredit();
        };
        // The first 8 MiB may have gone into kernel buffers: however fast, they grow nothing.
        for (quint64 offset = 0; offset < 8 * kMiB; offset += 2 * kMiB) {
            QVERIFY(receiver.acceptIncoming(offset, 2 * kMiB));
            receiver.recordConsumed(2 * kMiB);
            QVERIFY(!tuner.consumed(receiver.consumedOffset(), 0));
            credit();
        }
        QCOMPARE(tuner.window(), kInitialWindow);
        // Then the whole window taken in two round trips, nothing left over: it doubles.
        session.nowSteps += 20;
        QVERIFY(receiver.acceptIncoming(8 * kMiB, 2 * kMiB));
        receiver.recordConsumed(2 * kMiB);
        QVERIFY(tuner.consumed(receiver.consumedOffset(), 0));
        QCOMPARE(tuner.window(), 4 * kMiB);
        credit();
        QCOMPARE(receiver.grantedLimit(), quint64(14 * kMiB));
        // Now the whole budget is someone else's: the window falls only as credit returns.
        session.context.sessionBudgetLimit = 0;
        QVERIFY(receiver.acceptIncoming(10 * kMiB, kMiB));
        receiver.recordConsumed(kMiB);
        credit();
        QCOMPARE(receiver.receiveWindow(), 3 * kMiB);
        QCOMPARE(receiver.grantedLimit(), quint64(14 * kMiB));
        QCOMPARE(session.session.used(), qint64(kMiB));
        // Everything granted still arrives, and only then is the window back to the start.
        QVERIFY(receiver.acceptIncoming(11 * kMiB, 3 * kMiB));
        QVERIFY(!receiver.acceptIncoming(14 * kMiB, 1));
        receiver.recordConsumed(3 * kMiB);
        credit();
        QCOMPARE(receiver.receiveWindow(), kInitialWindow);
        QCOMPARE(session.session.used(), qint64(0));
        QCOMPARE(session.session.holders(), 0);
    }
};

QTEST_APPLESS_MAIN(ReceiveWindowTunerTest)
#include "tst_receivewindowtuner.moc"
