#include "link/WebSocketStream.h"
#include "protocol/WebSocketFrame.h"

#include "WebSocketPair.h"

#include <QRandomGenerator>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTest>
#include <QWebSocket>

using namespace wstunnel;

namespace {

QByteArray naiveMask(QByteArray data, quint32 key, int position)
{
    const auto *k = reinterpret_cast<const uchar *>(&key);
    for (qsizetype i = 0; i < data.size(); ++i)
        data[i] = char(uchar(data[i]) ^ k[(position + i) & 3]);
    return data;
}

QByteArray randomBytes(qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (char &c : bytes)
        c = char(QRandomGenerator::global()->bounded(256));
    return bytes;
}

} // namespace

class WebSocketFrameTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void maskMatchesRfc6455_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("offset");
        QTest::addColumn<int>("position");
        for (int size : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 64, 71, 1000, 131085})
            for (int offset : {0, 1, 5})
                for (int position : {0, 1, 2, 3})
                    QTest::addRow("size %d offset %d position %d", size, offset, position)
                        << size << offset << position;
    }

    void maskMatchesRfc6455()
    {
        QFETCH(int, size);
        QFETCH(int, offset);
        QFETCH(int, position);
        const QByteArray input = randomBytes(offset + size);
        const quint32 key = QRandomGenerator::global()->generate();
        QByteArray masked = input;
        WebSocketFrame::mask(masked.data() + offset, size, key, position);
        QCOMPARE(masked.left(offset), input.left(offset));
        QCOMPARE(masked.mid(offset), naiveMask(input.mid(offset), key, position));
        WebSocketFrame::mask(masked.data() + offset, size, key, position);
        QCOMPARE(masked, input);

        // Out of place: the same bytes, the input untouched.
        QByteArray out(size, Qt::Uninitialized);
        WebSocketFrame::mask(input.constData() + offset, out.data(), size, key, position);
        QCOMPARE(out, naiveMask(input.mid(offset), key, position));
    }

    void headerRoundTrip_data()
    {
        QTest::addColumn<quint64>("payloadSize");
        QTest::addColumn<bool>("masked");
        QTest::addColumn<int>("expectedSize");
        for (bool masked : {false, true}) {
            const int key = masked ? 4 : 0;
            QTest::addRow("0 %d", masked) << quint64(0) << masked << 2 + key;
            QTest::addRow("125 %d", masked) << quint64(125) << masked << 2 + key;
            QTest::addRow("126 %d", masked) << quint64(126) << masked << 4 + key;
            QTest::addRow("65535 %d", masked) << quint64(65535) << masked << 4 + key;
            QTest::addRow("65536 %d", masked) << quint64(65536) << masked << 10 + key;
            QTest::addRow("2^40 %d", masked) << (quint64(1) << 40) << masked << 10 + key;
        }
    }

    void headerRoundTrip()
    {
        QFETCH(quint64, payloadSize);
        QFETCH(bool, masked);
        QFETCH(int, expectedSize);
        char buffer[WebSocketFrame::kMaxHeaderSize];
        const quint32 key = masked ? 0x11223344 : 0;
        const int size = WebSocketFrame::writeHeader(buffer, WebSocketFrame::Binary, true,
                                                     payloadSize, masked, key);
        QCOMPARE(size, expectedSize);
        for (int prefix = 0; prefix < size; ++prefix) {
            WebSocketFrame::Header header;
            QCOMPARE(WebSocketFrame::parseHeader(QByteArrayView(buffer, prefix), header),
                     WebSocketFrame::Parse::Incomplete);
        }
        WebSocketFrame::Header header;
        QCOMPARE(WebSocketFrame::parseHeader(QByteArrayView(buffer, size), header),
                 WebSocketFrame::Parse::Complete);
        QCOMPARE(header.opCode, quint8(WebSocketFrame::Binary));
        QVERIFY(header.final);
        QCOMPARE(header.masked, masked);
        QCOMPARE(header.maskKey, key);
        QCOMPARE(header.headerSize, size);
        QCOMPARE(header.payloadSize, payloadSize);
    }

    void invalidHeaders_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addRow("reserved bit") << QByteArray("\xc2\x00", 2);
        QTest::addRow("reserved op code") << QByteArray("\x83\x00", 2);
        QTest::addRow("fragmented ping") << QByteArray("\x09\x00", 2);
        QTest::addRow("long ping") << QByteArray("\x89\x7e\x00\x80", 4);
        QTest::addRow("length msb") << QByteArray("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
    }

    void invalidHeaders()
    {
        QFETCH(QByteArray, bytes);
        WebSocketFrame::Header header;
        QString error;
        QCOMPARE(WebSocketFrame::parseHeader(bytes, header, &error),
                 WebSocketFrame::Parse::Invalid);
        QVERIFY(!error.isEmpty());
    }

    // Frames we write as a client arrive intact at a stock QWebSocketServer, and frames a stock
    // server sends (with a ping and fragments among them) reach our reader.
    void clientAgainstStockServer()
    {
        WebSocketPair pair;
        QVERIFY(pair.open());
        auto *transport = pair.client.findChild<QAbstractSocket *>();
        QVERIFY(transport);
        WebSocketStream stream(&pair.client, transport, true, 4 * 1024 * 1024);
        exchange(pair.client, stream, *pair.server);
    }

    // The same with our stream on the accepting side: unmasked frames out, masked frames in.
    void serverAgainstStockClient()
    {
        WebSocketPair pair;
        QVERIFY(pair.open());
        QVERIFY(pair.serverTransport);
        WebSocketStream stream(pair.server.get(), pair.serverTransport, false, 4 * 1024 * 1024);
        exchange(*pair.server, stream, pair.client);
    }

    void peerCloseIsAnswered()
    {
        WebSocketPair pair;
        QVERIFY(pair.open());
        WebSocketStream stream(&pair.client, pair.client.findChild<QAbstractSocket *>(), true,
                               1024);
        connect(&pair.client, &QWebSocket::binaryMessageReceived, &stream,
                &WebSocketStream::takeOverReading);
        pair.server->sendBinaryMessage("hello");
        QTRY_VERIFY(stream.readsFrames());
        pair.server->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("bye"));
        QTRY_COMPARE(pair.client.state(), QAbstractSocket::UnconnectedState);
        QCOMPARE(pair.client.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
        QCOMPARE(pair.client.closeReason(), QStringLiteral("bye"));
    }

    void oversizedMessageFails()
    {
        WebSocketPair pair;
        QVERIFY(pair.open());
        WebSocketStream stream(&pair.client, pair.client.findChild<QAbstractSocket *>(), true,
                               1024);
        connect(&pair.client, &QWebSocket::binaryMessageReceived, &stream,
                &WebSocketStream::takeOverReading);
        QSignalSpy failed(&stream, &WebSocketStream::failed);
        pair.server->sendBinaryMessage("hello");
        QTRY_VERIFY(stream.readsFrames());
        pair.server->sendBinaryMessage(QByteArray(1025, 'x'));
        QTRY_COMPARE(failed.size(), 1);
        QCOMPARE(failed.at(0).at(0).value<QWebSocketProtocol::CloseCode>(),
                 QWebSocketProtocol::CloseCodeTooMuchData);
        QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("exceeds the limit")));
    }

    // Writing straight to the descriptor must neither overtake a frame QWebSocket has queued nor
    // lose the part the kernel does not take: more is sent at once than the socket buffers hold.
    void directWritesKeepOrderBehindQueuedFrames()
    {
        WebSocketPair pair;
        QVERIFY(pair.open());
        WebSocketStream stream(&pair.client, pair.client.findChild<QAbstractSocket *>(), true,
                               4 * 1024 * 1024);
        QList<QByteArray> messages;
        for (int i = 0; i < 48; ++i) {
            QByteArray m = randomBytes(64);
            m.append(QByteArray(1024 * 1024 - 64 + i, char(i)));
            messages.append(m);
        }
        QList<QByteArray> atPeer;
        connect(pair.server.get(), &QWebSocket::binaryMessageReceived, pair.server.get(),
                [&atPeer](const QByteArray &m) { atPeer.append(m); });
        QSignalSpy pongs(&pair.client, &QWebSocket::pong);
        // The first half fills the kernel's buffers, so one frame is split between the kernel and
        // Qt's queue; the ping sits in Qt's queue ahead of the second half.
        for (int i = 0; i < messages.size(); ++i) {
            if (i == messages.size() / 2)
                pair.client.ping("queued by QWebSocket"); // the peer answers it only if intact
            stream.sendBinary(messages.at(i));
        }
        QTRY_COMPARE_WITH_TIMEOUT(atPeer.size(), messages.size(), 20000);
        QCOMPARE(atPeer, messages);
        QTRY_COMPARE(pongs.size(), 1);
        QCOMPARE(pongs.at(0).at(1).toByteArray(), QByteArray("queued by QWebSocket"));
    }

    // Over TLS our frames go through QSslSocket in pieces; both roles still talk to stock peers.
    void clientAgainstStockServerOverTls()
    {
        WebSocketPair pair;
        QVERIFY(pair.open(WebSocketPair::Security::Tls));
        auto *transport = qobject_cast<QSslSocket *>(pair.client.findChild<QAbstractSocket *>());
        QVERIFY(transport);
        QVERIFY(transport->isEncrypted());
        WebSocketStream stream(&pair.client, transport, true, 4 * 1024 * 1024);
        QVERIFY(takeOver(pair.client, stream, *pair.server));
        exchange(pair.client, stream, *pair.server);
    }

    void serverAgainstStockClientOverTls()
    {
        WebSocketPair pair;
        QVERIFY(pair.open(WebSocketPair::Security::Tls));
        QVERIFY(pair.serverTlsTransport());
        QVERIFY(pair.serverTlsTransport()->isEncrypted());
        WebSocketStream stream(pair.server.get(), pair.serverTransport, false, 4 * 1024 * 1024);
        QVERIFY(takeOver(*pair.server, stream, pair.client));
        exchange(*pair.server, stream, pair.client);
    }

    // Flushing a piece of a large frame through TLS emits bytesWritten, whose handlers send (the
    // session resumes its channels there): what they send must follow the frame, not split it.
    void sendsDuringATlsWriteFollowTheFrame()
    {
        WebSocketPair pair;
        QVERIFY(pair.open(WebSocketPair::Security::Tls));
        auto *transport = pair.client.findChild<QAbstractSocket *>();
        WebSocketStream stream(&pair.client, transport, true, 4 * 1024 * 1024);
        QVERIFY(takeOver(pair.client, stream, *pair.server));
        const QByteArray large = randomBytes(1024 * 1024 + 3);
        const QByteArray nested = randomBytes(300);
        int sentNested = 0;
        connect(transport, &QIODevice::bytesWritten, &stream, [&] {
            if (sentNested++ == 0)
                stream.sendBinary(nested);
        });
        QList<QByteArray> atPeer;
        connect(pair.server.get(), &QWebSocket::binaryMessageReceived, pair.server.get(),
                [&atPeer](const QByteArray &m) { atPeer.append(m); });
        stream.sendBinary(large);
        QVERIFY(sentNested > 0); // a piece was written before sendBinary() returned
        QTRY_COMPARE(atPeer.size(), 2);
        QCOMPARE(atPeer.at(0), large);
        QCOMPARE(atPeer.at(1), nested);
        QCOMPARE(pair.server->state(), QAbstractSocket::ConnectedState);
    }

private:
    // From now on our stream reads the frames itself, as after the peer's hello in a session.
    static bool takeOver(QWebSocket &ours, WebSocketStream &stream, QWebSocket &peer)
    {
        connect(&ours, &QWebSocket::binaryMessageReceived, &stream,
                &WebSocketStream::takeOverReading);
        peer.sendBinaryMessage("hello");
        return QTest::qWaitFor([&stream] { return stream.readsFrames(); });
    }

    static void exchange(QWebSocket &ours, WebSocketStream &stream, QWebSocket &peer)
    {
        const QList<QByteArray> messages = {QByteArray(),        randomBytes(1),
                                            randomBytes(125),    randomBytes(126),
                                            randomBytes(65535),  randomBytes(65536),
                                            randomBytes(131085), randomBytes(1024 * 1024 + 7)};
        // Ours to the stock peer.
        QList<QByteArray> atPeer;
        connect(&peer, &QWebSocket::binaryMessageReceived, &peer,
                [&atPeer](const QByteArray &m) { atPeer.append(m); });
        for (const QByteArray &m : messages)
            stream.sendBinary(m);
        QTRY_COMPARE(atPeer.size(), messages.size());
        QCOMPARE(atPeer, messages);

        // The stock peer to ours: the first message through QWebSocket, then our reader.
        QList<QByteArray> atOurs;
        connect(&ours, &QWebSocket::binaryMessageReceived, &stream, [&](const QByteArray &m) {
            atOurs.append(m);
            stream.takeOverReading();
        });
        connect(&stream, &WebSocketStream::binaryMessageReceived, &stream,
                [&atOurs](QByteArrayView m) { atOurs.append(m.toByteArray()); });
        QSignalSpy pongs(&peer, &QWebSocket::pong);
        QSignalSpy oursPongs(&stream, &WebSocketStream::pongReceived);
        peer.sendBinaryMessage("first");
        peer.ping("are you there");
        peer.setOutgoingFrameSize(1000); // the large messages arrive in fragments
        for (const QByteArray &m : messages)
            peer.sendBinaryMessage(m);
        QTRY_COMPARE(atOurs.size(), messages.size() + 1);
        QVERIFY(stream.readsFrames());
        QCOMPARE(atOurs.mid(1), messages);
        QTRY_COMPARE(pongs.size(), 1);
        QCOMPARE(pongs.at(0).at(1).toByteArray(), QByteArray("are you there"));
        ours.ping("and you?");
        QTRY_COMPARE(oursPongs.size(), 1);
    }
};

QTEST_MAIN(WebSocketFrameTest)
#include "tst_websocketframe.moc"
