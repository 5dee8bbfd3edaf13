// The two ends of a hub's relay pipe on their own, no sessions: what one end's channel writes
// the other end's channel reads, whole or in parts, with room for its Data header, and the
// writer hears of it (bytesWritten) only once it has been read. In datagram mode, each write is
// one datagram, taken at once or dropped when the direction's queue is full.
#include "hub/RelayEndpoint.h"
#include "protocol/Message.h"

#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wstunnel;

namespace {

QByteArray pattern(int size, char seed)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        bytes[i] = char(seed + i % 251);
    return bytes;
}

constexpr qsizetype kHeadroom = protocol::kDataHeaderSize;

// The payload of an array read with header room.
QByteArray payloadOf(const QByteArray &message)
{
    return message.mid(kHeadroom);
}

} // namespace

class tst_RelayEndpoint : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<RelayEndpoint> m_writer;
    std::unique_ptr<RelayEndpoint> m_reader;

private Q_SLOTS:
    void init()
    {
        m_writer = std::make_unique<RelayEndpoint>();
        m_reader.reset(m_writer->createMate(QStringLiteral("127.0.0.2:5000")));
    }

    void cleanup()
    {
        m_reader.reset();
        m_writer.reset();
    }

    void aWriteIsReadWholeWithRoomForTheHeader_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<qint64>("maxSize");
        QTest::addColumn<int>("expected");
        QTest::newRow("one byte") << 1 << qint64(512 * 1024) << 1;
        QTest::newRow("a full message") << 512 * 1024 << qint64(512 * 1024) << 512 * 1024;
        QTest::newRow("more than the reader may take") << 100000 << qint64(4096) << 4096;
    }

    void aWriteIsReadWholeWithRoomForTheHeader()
    {
        QFETCH(int, size);
        QFETCH(qint64, maxSize);
        QFETCH(int, expected);
        QSignalSpy written(m_writer.get(), &ChannelEndpoint::bytesWritten);
        const QByteArray data = pattern(size, 'a');

        QCOMPARE(m_writer->write(data), qint64(0)); // queued, not yet taken
        QCOMPARE(m_writer->bytesToWrite(), qint64(size));
        QCOMPARE(written.count(), 0);

        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, maxSize), qint64(expected));
        QCOMPARE(message.size(), kHeadroom + expected);
        QCOMPARE(payloadOf(message), data.left(expected));
        QCOMPARE(written.count(), 1);
        QCOMPARE(written.at(0).at(0).toLongLong(), qint64(expected));
        QCOMPARE(m_writer->bytesToWrite(), qint64(size - expected));
    }

    // What a hub receives is a Data message of the writer's session: its header makes the room
    // for the reading session's, and the bytes are never copied.
    void aReceivedMessageIsKeptAndHandedOverAsItIs()
    {
        QVERIFY(m_writer->keepsWrites());
        const QByteArray payload = pattern(300000, 'm');
        QByteArray received = QByteArray(kHeadroom, 'h') + payload;
        const char *payloadBytes = received.constData() + kHeadroom;
        QSignalSpy written(m_writer.get(), &ChannelEndpoint::bytesWritten);

        QCOMPARE(m_writer->writeMessage(std::move(received), kHeadroom), qint64(0));
        QCOMPARE(m_writer->bytesToWrite(), qint64(payload.size()));

        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 512 * 1024),
                 qint64(payload.size()));
        QVERIFY(message.constData() + kHeadroom == payloadBytes);
        QCOMPARE(payloadOf(message), payload);
        QCOMPARE(written.count(), 1);
        QCOMPARE(written.at(0).at(0).toLongLong(), qint64(payload.size()));
    }

    void aReceivedMessageWithMoreInFrontKeepsOnlyTheRoomItNeeds()
    {
        const QByteArray payload = pattern(1000, 'm');
        m_writer->writeMessage(QByteArray(40, 'h') + payload, 40);
        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 512 * 1024), qint64(1000));
        QCOMPARE(message.size(), kHeadroom + 1000);
        QCOMPARE(payloadOf(message), payload);
    }

    void partsAndWholesInterleave()
    {
        const QByteArray first = pattern(1000, 'a');
        const QByteArray second = pattern(3000, 'k');
        m_writer->write(first);
        char buffer[300];
        QCOMPARE(m_reader->read(buffer, sizeof buffer), qint64(sizeof buffer));
        QCOMPARE(QByteArray(buffer, sizeof buffer), first.left(300));
        m_writer->write(second);

        // The rest of the first write, then the second whole: never across a write's boundary
        // when handing over, so the second can go as it was laid out.
        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 64 * 1024), qint64(700));
        QCOMPARE(payloadOf(message), first.mid(300));
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 64 * 1024), qint64(3000));
        QCOMPARE(payloadOf(message), second);
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 64 * 1024),
                 ChannelEndpoint::kWouldBlock);
    }

    // The writer's messages may be small (what its socket had); the reader still sends few
    // large ones.
    void smallWritesJoinUntilRead()
    {
        const QByteArray first = pattern(1000, 'a');
        const QByteArray second = pattern(3000, 'k');
        m_writer->write(first);
        m_writer->write(second);
        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 64 * 1024), qint64(4000));
        QCOMPARE(payloadOf(message), first + second);
    }

    void aPlainReadGathersAcrossWrites()
    {
        const QByteArray first = pattern(10, 'a');
        const QByteArray second = pattern(20, 'k');
        m_writer->write(first);
        m_writer->write(second);
        QByteArray buffer(100, '\0');
        QCOMPARE(m_reader->read(buffer.data(), buffer.size()), qint64(30));
        QCOMPARE(buffer.left(30), first + second);
    }

    void theEndOfStreamComesAfterTheBytes()
    {
        QByteArray message;
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 1024),
                 ChannelEndpoint::kWouldBlock);
        m_writer->write(pattern(5, 'a'));
        m_writer->write(QByteArrayView()); // an empty write is no end of stream
        m_writer->shutdownWrite();
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 1024), qint64(5));
        QCOMPARE(m_reader->readWithHeadroom(message, kHeadroom, 1024), qint64(0));
        char byte;
        QCOMPARE(m_reader->read(&byte, 1), qint64(0));
    }

    void theReaderIsWokenOncePerPassOfTheEventLoop()
    {
        QSignalSpy readable(m_reader.get(), &ChannelEndpoint::readyRead);
        for (int i = 0; i < 10; ++i)
            m_writer->write(pattern(100, 'a'));
        QVERIFY(readable.wait());
        QCOMPARE(readable.count(), 1);

        m_reader->setReadEnabled(false);
        m_writer->write(pattern(100, 'b'));
        QVERIFY(!readable.wait(50));
        m_reader->setReadEnabled(true);
        QVERIFY(readable.wait());
    }

    void aDatagramRelayKeepsEachWriteWholeAndApart()
    {
        RelayEndpoint writer(ChannelTransport::Udp);
        std::unique_ptr<RelayEndpoint> reader(writer.createMate(QStringLiteral("127.0.0.2:53")));
        QCOMPARE(writer.transport(), ChannelTransport::Udp);
        QCOMPARE(reader->transport(), ChannelTransport::Udp);
        QSignalSpy written(&writer, &ChannelEndpoint::bytesWritten);
        const QList<QByteArray> datagrams{pattern(1, 'a'), pattern(1472, 'b'),
                                          pattern(protocol::kMaxDatagramSize, 'c')};
        // Taken whole at once: the writing channel counts them as consumed itself.
        for (const QByteArray &datagram : datagrams)
            QCOMPARE(writer.write(datagram), qint64(datagram.size()));

        QByteArray buffer(protocol::kMaxDatagramSize, Qt::Uninitialized);
        QCOMPARE(reader->read(buffer.data(), buffer.size()), qint64(1));
        QCOMPARE(buffer.left(1), datagrams.at(0));
        QByteArray message;
        QCOMPARE(reader->readWithHeadroom(message, kHeadroom, protocol::kMaxDatagramSize),
                 qint64(1472));
        QCOMPARE(payloadOf(message), datagrams.at(1));
        QCOMPARE(reader->read(buffer.data(), buffer.size()), qint64(protocol::kMaxDatagramSize));
        QCOMPARE(buffer, datagrams.at(2));
        // A flow has no end of stream; nothing waiting is nothing now.
        QCOMPARE(reader->read(buffer.data(), buffer.size()), ChannelEndpoint::kWouldBlock);
        QVERIFY(!written.wait(50));
        QCOMPARE(written.count(), 0);
    }

    void aDatagramBeyondTheQueueIsDroppedNotQueued()
    {
        RelayEndpoint writer(ChannelTransport::Udp);
        std::unique_ptr<RelayEndpoint> reader(writer.createMate(QStringLiteral("127.0.0.2:53")));
        const QByteArray datagram = pattern(1400, 'd');
        const int fits = int(RelayEndpoint::kDatagramQueueBytes / datagram.size());
        for (int i = 0; i < fits; ++i)
            QCOMPARE(writer.write(datagram), qint64(datagram.size()));
        QCOMPARE(writer.bytesToWrite(), qint64(fits) * datagram.size());
        for (int i = 0; i < 100; ++i)
            QCOMPARE(writer.write(datagram), qint64(0));
        QCOMPARE(writer.bytesToWrite(), qint64(fits) * datagram.size());
        // The other direction has a queue of its own.
        QCOMPARE(reader->write(datagram), qint64(datagram.size()));

        // Reading one makes room for one.
        QByteArray buffer(protocol::kMaxDatagramSize, Qt::Uninitialized);
        QCOMPARE(reader->read(buffer.data(), buffer.size()), qint64(datagram.size()));
        QCOMPARE(writer.write(datagram), qint64(datagram.size()));
        QCOMPARE(writer.write(datagram), qint64(0));
        int read = 0;
        while (reader->read(buffer.data(), buffer.size()) == datagram.size())
            ++read;
        QCOMPARE(read, fits);
    }

    void writingPastAClosedMateFails()
    {
        m_reader.reset();
        QCOMPARE(m_writer->write(pattern(10, 'a')), ChannelEndpoint::kError);
        QVERIFY(!m_writer->errorString().isEmpty());
    }
};

QTEST_GUILESS_MAIN(tst_RelayEndpoint)
#include "tst_relayendpoint.moc"
