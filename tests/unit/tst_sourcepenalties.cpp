#include "server/SourcePenalties.h"

#include <QTest>

using namespace wstunnel;

class TestSourcePenalties : public QObject
{
    Q_OBJECT

private:
    qint64 m_now = 1000;
    SourcePenalties::Clock clock()
    {
        return [this] { return m_now; };
    }
    const QHostAddress m_guesser{QStringLiteral("192.0.2.7")};
    const QHostAddress m_colleague{QStringLiteral("192.0.2.8")};

private Q_SLOTS:
    void init() { m_now = 1000; }

    void repeatedFailuresPenalizeOnlyThatAddress()
    {
        SourcePenalties penalties(3, 60000, clock());
        QVERIFY(!penalties.recordFailure(m_guesser));
        QVERIFY(!penalties.recordFailure(m_guesser));
        QVERIFY(!penalties.isPenalized(m_guesser));
        // The third failure starts the penalty, and says so once.
        QVERIFY(penalties.recordFailure(m_guesser));
        QVERIFY(penalties.isPenalized(m_guesser));
        QVERIFY(!penalties.recordFailure(m_guesser));
        QVERIFY(!penalties.isPenalized(m_colleague));
    }

    void penaltyEndsAfterItsPeriod()
    {
        SourcePenalties penalties(2, 60000, clock());
        penalties.recordFailure(m_guesser);
        QVERIFY(penalties.recordFailure(m_guesser));
        m_now += 59999;
        QVERIFY(penalties.isPenalized(m_guesser));
        m_now += 1;
        QVERIFY(!penalties.isPenalized(m_guesser));
        // A new episode needs the full count again, and is reported again.
        QVERIFY(!penalties.recordFailure(m_guesser));
        QVERIFY(penalties.recordFailure(m_guesser));
    }

    void successClearsTheCount()
    {
        SourcePenalties penalties(3, 60000, clock());
        penalties.recordFailure(m_colleague);
        penalties.recordFailure(m_colleague);
        penalties.recordSuccess(m_colleague);
        QVERIFY(!penalties.recordFailure(m_colleague));
        QVERIFY(!penalties.recordFailure(m_colleague));
        QVERIFY(!penalties.isPenalized(m_colleague));
    }

    void zeroFailuresSwitchesPenaltiesOff()
    {
        SourcePenalties penalties(0, 60000, clock());
        for (int i = 0; i < 100; ++i)
            QVERIFY(!penalties.recordFailure(m_guesser));
        QVERIFY(!penalties.isPenalized(m_guesser));
    }

    void tableStaysBounded()
    {
        SourcePenalties penalties(3, 100'000'000, clock());
        penalties.recordFailure(m_guesser);
        penalties.recordFailure(m_guesser);
        QVERIFY(penalties.recordFailure(m_guesser));
        for (quint32 i = 0; i < quint32(SourcePenalties::kMaxSources) + 10; ++i) {
            ++m_now;
            penalties.recordFailure(QHostAddress(0x0a000000u + i));
        }
        QCOMPARE(penalties.sourceCount(), SourcePenalties::kMaxSources);
        // The least recently heard from went first: the guesser, long quiet.
        QVERIFY(!penalties.isPenalized(m_guesser));
    }
};

QTEST_GUILESS_MAIN(TestSourcePenalties)
#include "tst_sourcepenalties.moc"
