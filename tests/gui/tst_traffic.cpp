#include "WindowFixture.h"
#include "ui/ChannelTableModel.h"
#include "ui/Formatting.h"
#include "ui/MappingTableModel.h"
#include "ui/Sparkline.h"

#include <QElapsedTimer>
#include <QTableView>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <functional>

using namespace wstunnel;

namespace {

// 4 MB/s (SI, as the table shows it).
constexpr double kRate = 4e6;
constexpr int kSamples = 10;
constexpr qint64 kSampleSpacingMs = 500;

// Moves bytes through a socket at a fixed rate, catching up after a late timer so that the
// average holds: writing (and reading the echo as it comes), or reading what a source sends.
class Pacer : public QObject
{
public:
    enum class Mode { Write, Read };

    Pacer(QTcpSocket *socket, Mode mode)
        : m_socket(socket)
        , m_mode(mode)
    {
        connect(&m_timer, &QTimer::timeout, this, &Pacer::moveDue);
        if (mode == Mode::Write)
            connect(socket, &QTcpSocket::readyRead, this, [socket] { socket->readAll(); });
        else
            // Unread bytes stay in the kernel, so that the sender feels the pace.
            socket->setReadBufferSize(1024 * 1024);
    }

    void start()
    {
        m_clock.start();
        m_timer.start(5);
    }
    qint64 elapsedMs() const { return m_clock.elapsed(); }
    // Bytes per second actually moved over the last windowMs, as a download tool would report.
    double recentRate(qint64 windowMs) const
    {
        const qint64 now = m_clock.elapsed();
        auto first = std::find_if(m_history.cbegin(), m_history.cend(),
                                  [&](const auto &entry) { return entry.first >= now - windowMs; });
        if (first == m_history.cend() || now <= first->first)
            return 0;
        return double(m_moved - first->second) * 1000.0 / double(now - first->first);
    }

private:
    void moveDue()
    {
        m_history.append({m_clock.elapsed(), m_moved});
        const qint64 due = qint64(kRate * double(m_clock.nsecsElapsed()) / 1e9);
        if (m_mode == Mode::Write) {
            if (due > m_moved)
                m_socket->write(QByteArray(due - m_moved, 'x'));
            m_moved = due;
            return;
        }
        while (m_moved < due && m_socket->bytesAvailable() > 0)
            m_moved += m_socket->read(due - m_moved).size();
    }

    QTcpSocket *m_socket;
    Mode m_mode;
    QElapsedTimer m_clock;
    QTimer m_timer;
    qint64 m_moved = 0;
    QList<QPair<qint64, qint64>> m_history; // (ms, bytes moved by then)
};

// A download source: writes to every connection as fast as it takes the bytes.
class Source : public QTcpServer
{
public:
    Source()
    {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                const auto refill = [socket] {
                    if (socket->bytesToWrite() < 256 * 1024)
                        socket->write(QByteArray(256 * 1024, 'd'));
                };
                connect(socket, &QTcpSocket::bytesWritten, socket, refill);
                refill();
            }
        });
        listen(QHostAddress::LocalHost, 0);
    }
};

struct Reading
{
    double paced = 0; // what the pacer moved over the same window
    double mappingIn = 0;
    double mappingOut = 0;
    double channelIn = 0;
    double channelOut = 0;
};

// How many readings of field are within tolerance (a fraction) of the paced rate: the nominal
// one, or with actual, what the pacer really moved over the same window.
int near(const QList<Reading> &readings, double Reading::*field, double tolerance,
         bool actual = false)
{
    return int(std::count_if(readings.cbegin(), readings.cend(), [=](const Reading &reading) {
        const double expected = actual ? reading.paced : kRate;
        return qAbs(reading.*field - expected) <= tolerance * expected;
    }));
}

} // namespace

// What the traffic views show: rates a download tool would agree with, the same in the table,
// the connections view and the graph, and totals since the mapping started.
class TestTraffic : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void init() { QVERIFY(m_fixture.create()); }
    void cleanup() { m_fixture.destroy(); }

    void ratesAgreeWithPacedUpload();
    void ratesAgreeWithPacedDownload();

private:
    // A mapping to target, selected and listening.
    MappingConfig startMapping(quint16 targetPort);
    // Reads the rates shown every half second over five seconds, once warmUpMs passed and the
    // first averaging window after it is full; what is shown must be that figure in the table
    // and the graph.
    QList<Reading> sampleRates(const Pacer &pacer, QStringList *mismatches, qint64 warmUpMs = 0);
    static QByteArray report(const QList<Reading> &readings);

    WindowFixture m_fixture;
};

MappingConfig TestTraffic::startMapping(quint16 targetPort)
{
    MappingConfig mapping = m_fixture.echoMapping(unusedLoopbackPort());
    mapping.targetPort = targetPort;
    m_fixture.controller()->setMapping(mapping);
    m_fixture.window()->selectMapping(mapping.id);
    [[maybe_unused]] const bool listening = QTest::qWaitFor(
        [&] { return m_fixture.stateOf(mapping.id) == MappingState::Listening; }, 10000);
    return mapping;
}

QList<Reading> TestTraffic::sampleRates(const Pacer &pacer, QStringList *mismatches,
                                        qint64 warmUpMs)
{
    const QAbstractItemModel *mappings =
        m_fixture.find<QTableView>(QStringLiteral("mappingView"))->model();
    const QAbstractItemModel *connections =
        m_fixture.find<QTableView>(QStringLiteral("channelView"))->model();
    const Sparkline *graph = m_fixture.find<Sparkline>(QStringLiteral("sparkline"));
    QList<Reading> readings;
    qint64 nextSampleMs = warmUpMs + kRateWindowMs + kSampleSpacingMs;
    QObject context;
    connect(m_fixture.controller(), &AppController::snapshotUpdated, &context, [&] {
        if (readings.size() >= kSamples || pacer.elapsedMs() < nextSampleMs ||
            connections->rowCount() != 1)
            return;
        nextSampleMs += kSampleSpacingMs;
        const QModelIndex in = mappings->index(0, MappingTableModel::RateInColumn);
        const QModelIndex out = mappings->index(0, MappingTableModel::RateOutColumn);
        const QModelIndex channelIn = connections->index(0, ChannelTableModel::RateInColumn);
        const QModelIndex channelOut = connections->index(0, ChannelTableModel::RateOutColumn);
        Reading reading;
        reading.paced = pacer.recentRate(kRateWindowMs);
        reading.mappingIn = in.data(MappingTableModel::RateRole).toDouble();
        reading.mappingOut = out.data(MappingTableModel::RateRole).toDouble();
        reading.channelIn = channelIn.data(ChannelTableModel::RateRole).toDouble();
        reading.channelOut = channelOut.data(ChannelTableModel::RateRole).toDouble();
        readings.append(reading);
        for (const auto &[index, rate] :
             {std::pair{in, reading.mappingIn}, std::pair{out, reading.mappingOut},
              std::pair{channelIn, reading.channelIn}, std::pair{channelOut, reading.channelOut}}) {
            if (index.data().toString() != Formatting::rate(rate))
                mismatches->append(index.data().toString());
        }
        // Without a connection selected, the graph is the mapping's.
        const QString graphText =
            QStringLiteral("In %1, out %2")
                .arg(Formatting::rate(reading.mappingIn), Formatting::rate(reading.mappingOut));
        if (graph->accessibleDescription() != graphText)
            mismatches->append(graph->accessibleDescription() + QStringLiteral(" vs ") + graphText);
    });
    [[maybe_unused]] const bool done =
        QTest::qWaitFor([&] { return readings.size() == kSamples; }, 30000);
    return readings;
}

QByteArray TestTraffic::report(const QList<Reading> &readings)
{
    QStringList seen;
    for (const Reading &reading : readings)
        seen.append(QStringLiteral("%1:%2/%3/%4/%5")
                        .arg(reading.paced, 0, 'f', 0)
                        .arg(reading.mappingIn, 0, 'f', 0)
                        .arg(reading.mappingOut, 0, 'f', 0)
                        .arg(reading.channelIn, 0, 'f', 0)
                        .arg(reading.channelOut, 0, 'f', 0));
    return seen.join(QLatin1Char(' ')).toLatin1();
}

void TestTraffic::ratesAgreeWithPacedUpload()
{
    const MappingConfig mapping = startMapping(m_fixture.echo()->serverPort());
    QCOMPARE(m_fixture.stateOf(mapping.id), MappingState::Listening);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
    QVERIFY(client.waitForConnected(5000));
    Pacer pacer(&client, Pacer::Mode::Write);
    pacer.start();

    QStringList mismatches;
    const QList<Reading> readings = sampleRates(pacer, &mismatches);
    QCOMPARE(readings.size(), kSamples);
    QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join(QStringLiteral("; "))));
    // Out through the tunnel at the pace, and the echo back in.
    for (double Reading::*field :
         {&Reading::mappingIn, &Reading::mappingOut, &Reading::channelIn, &Reading::channelOut})
        QVERIFY2(near(readings, field, 0.1) >= kSamples - 1, report(readings).constData());

    // The total counts every byte since the mapping started.
    const EngineSnapshot snapshot = m_fixture.controller()->snapshot();
    const MappingStats *stats = snapshot.mapping(mapping.id);
    QVERIFY(stats);
    QVERIFY(stats->bytesOut >= quint64(kRate * 0.9 * double(pacer.elapsedMs() - 1000) / 1000.0));
    const QAbstractItemModel *mappings =
        m_fixture.find<QTableView>(QStringLiteral("mappingView"))->model();
    QCOMPARE(mappings->index(0, MappingTableModel::TotalColumn).data().toString(),
             QStringLiteral("%1 / %2").arg(Formatting::bytes(stats->bytesIn),
                                           Formatting::bytes(stats->bytesOut)));
}

void TestTraffic::ratesAgreeWithPacedDownload()
{
    Source source;
    QVERIFY(source.isListening());
    const MappingConfig mapping = startMapping(source.serverPort());
    QCOMPARE(m_fixture.stateOf(mapping.id), MappingState::Listening);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, mapping.bindPort);
    QVERIFY(client.waitForConnected(5000));
    Pacer pacer(&client, Pacer::Mode::Read);
    pacer.start();

    // At first the source also fills the reader's socket buffers, which the kernel grows.
    QStringList mismatches;
    const QList<Reading> readings = sampleRates(pacer, &mismatches, 2000);
    QCOMPARE(readings.size(), kSamples);
    QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join(QStringLiteral("; "))));
    // Compared with what the reader really read over the same window, as a download tool would
    // report it. The kernel takes what the tunnel delivers for a slow reader in chunks of a third
    // of the socket's send buffer (1-2 MB here), so over 2 s the figure steps by up to a fifth.
    QVERIFY2(near(readings, &Reading::mappingIn, 0.25, true) == kSamples,
             report(readings).constData());
    QVERIFY2(near(readings, &Reading::channelIn, 0.25, true) == kSamples,
             report(readings).constData());
}

QTEST_MAIN(TestTraffic)
#include "tst_traffic.moc"
