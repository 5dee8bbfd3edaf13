#include "protocol/FrameReader.h"
#include "protocol/WebSocketFrame.h"

#include <QCryptographicHash>
#include <QPointer>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

#include <algorithm>
#include <cstring>
#include <vector>

using namespace wstunnel;
using Masking = FrameReader::Masking;

namespace {

constexpr quint32 kLimit = 100000;

enum class Length { Minimal, Sixteen, SixtyFour };

// A frame as the peer writes it; the tests encode it themselves, independently of
// WebSocketFrame::writeHeader.
struct Frame
{
    quint8 opCode = WebSocketFrame::Binary;
    QByteArray payload;
    bool final = true;
    quint8 reserved = 0; // RSV1-3, as the 0x70 bits of the first byte
    Length length = Length::Minimal;
    quint64 declaredLength = 0; // announced instead of the payload's size when not 0
};

Frame frame(quint8 opCode, const QByteArray &payload = {}, bool final = true)
{
    Frame f;
    f.opCode = opCode;
    f.payload = payload;
    f.final = final;
    return f;
}

Frame binaryFrame(const QByteArray &payload, bool final = true)
{
    return frame(WebSocketFrame::Binary, payload, final);
}

Frame continuationFrame(const QByteArray &payload, bool final = true)
{
    return frame(WebSocketFrame::Continuation, payload, final);
}

Frame closeFrame(quint16 code, const QByteArray &reason = {})
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian(code, payload.data());
    return frame(WebSocketFrame::Close, payload + reason);
}

Frame withReserved(Frame f, quint8 bits)
{
    f.reserved = bits;
    return f;
}

Frame withLength(Frame f, Length length)
{
    f.length = length;
    return f;
}

Frame declaring(Frame f, quint64 length)
{
    f.declaredLength = length;
    return f;
}

QByteArray pattern(qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        bytes[i] = char((i * 7 + i / 251) & 0xFF);
    return bytes;
}

template <typename T> void appendBigEndian(QByteArray &out, T value)
{
    char bytes[sizeof(T)];
    qToBigEndian(value, bytes);
    out.append(bytes, sizeof(T));
}

// The wire bytes of frames; splits receives every position inside or at the edge of a header.
QByteArray encode(const QList<Frame> &frames, bool masked, QList<int> *splits = nullptr)
{
    QByteArray out;
    for (qsizetype index = 0; index < frames.size(); ++index) {
        const Frame &f = frames.at(index);
        const qsizetype start = out.size();
        out.append(char((f.final ? 0x80 : 0x00) | f.reserved | f.opCode));
        const quint64 length = f.declaredLength ? f.declaredLength : quint64(f.payload.size());
        Length form = f.length;
        if (form == Length::Minimal && length > 125)
            form = length <= 0xFFFF ? Length::Sixteen : Length::SixtyFour;
        const int maskBit = masked ? 0x80 : 0x00;
        if (form == Length::Minimal) {
            out.append(char(maskBit | int(length)));
        } else if (form == Length::Sixteen) {
            out.append(char(maskBit | 126));
            appendBigEndian(out, quint16(length));
        } else {
            out.append(char(maskBit | 127));
            appendBigEndian(out, length);
        }
        QByteArray payload = f.payload;
        if (masked) {
            const char key[4] = {char(0x37), char(0xFA), char(0x21), char(0x3D + index)};
            out.append(key, 4);
            for (qsizetype i = 0; i < payload.size(); ++i)
                payload[i] = char(payload[i] ^ key[i % 4]);
        }
        if (splits) {
            for (qsizetype p = std::max<qsizetype>(start, 1); p <= out.size(); ++p)
                splits->append(int(p));
        }
        out.append(payload);
    }
    return out;
}

QString brief(const QByteArray &bytes)
{
    if (bytes.size() <= 24)
        return QStringLiteral("\"%1\"").arg(QString::fromLatin1(bytes.toHex()));
    return QStringLiteral("%1 bytes, sha1 %2")
        .arg(bytes.size())
        .arg(QString::fromLatin1(
            QCryptographicHash::hash(bytes, QCryptographicHash::Sha1).toHex().left(12)));
}

// Everything a reader emitted, or is expected to; the builder calls follow the order of emission.
struct Outcome
{
    QStringList order; // the signals by name, as they came
    QList<QByteArray> messages;
    QList<QByteArray> pings;
    int pongs = 0;
    int texts = 0;
    QList<QPair<int, QString>> closes;
    QList<int> failures;
    QStringList failureReasons; // only checked for being given

    Outcome &message(const QByteArray &m)
    {
        messages.append(m);
        order.append(QStringLiteral("message"));
        return *this;
    }
    Outcome &ping(const QByteArray &payload)
    {
        pings.append(payload);
        order.append(QStringLiteral("ping"));
        return *this;
    }
    Outcome &pong()
    {
        ++pongs;
        order.append(QStringLiteral("pong"));
        return *this;
    }
    Outcome &text()
    {
        ++texts;
        order.append(QStringLiteral("text"));
        return *this;
    }
    Outcome &close(int code, const QString &reason = {})
    {
        closes.append({code, reason});
        order.append(QStringLiteral("close"));
        return *this;
    }
    Outcome &failure(int code)
    {
        failures.append(code);
        order.append(QStringLiteral("failure"));
        return *this;
    }
    bool endsReading() const { return texts > 0 || !closes.isEmpty() || !failures.isEmpty(); }

    bool operator==(const Outcome &other) const
    {
        return order == other.order && messages == other.messages && pings == other.pings &&
               pongs == other.pongs && texts == other.texts && closes == other.closes &&
               failures == other.failures;
    }
};

QString describe(const Outcome &outcome)
{
    QStringList parts;
    for (const QByteArray &m : outcome.messages)
        parts.append(QStringLiteral("message %1").arg(brief(m)));
    for (const QByteArray &p : outcome.pings)
        parts.append(QStringLiteral("ping %1").arg(brief(p)));
    if (outcome.pongs)
        parts.append(QStringLiteral("%1 pong(s)").arg(outcome.pongs));
    if (outcome.texts)
        parts.append(QStringLiteral("%1 text(s)").arg(outcome.texts));
    for (const auto &close : outcome.closes)
        parts.append(QStringLiteral("close %1 \"%2\"").arg(close.first).arg(close.second));
    for (int code : outcome.failures)
        parts.append(QStringLiteral("failure %1").arg(code));
    return QStringLiteral("[%1] in the order %2")
        .arg(parts.join(QStringLiteral(", ")), outcome.order.join(QLatin1Char(' ')));
}

char *toString(const Outcome &outcome)
{
    return qstrdup(describe(outcome).toUtf8().constData());
}

// Feeds input cut at the given positions, then one more message, "after", and records every
// signal.
Outcome run(Masking incoming, quint32 limit, const QByteArray &input, const QList<int> &cuts)
{
    FrameReader reader(limit, incoming);
    Outcome outcome;
    // A spy would keep the view, which is gone after the emission: the payload is copied instead.
    QObject::connect(&reader, &FrameReader::binaryMessageReceived, &reader,
                     [&outcome](QByteArrayView m) { outcome.messages.append(m.toByteArray()); });
    const auto watchOrder = [&](auto signal, const QString &name) {
        QObject::connect(&reader, signal, &reader,
                         [&outcome, name] { outcome.order.append(name); });
    };
    watchOrder(&FrameReader::binaryMessageReceived, QStringLiteral("message"));
    watchOrder(&FrameReader::textMessageReceived, QStringLiteral("text"));
    watchOrder(&FrameReader::pingReceived, QStringLiteral("ping"));
    watchOrder(&FrameReader::pongReceived, QStringLiteral("pong"));
    watchOrder(&FrameReader::closeReceived, QStringLiteral("close"));
    watchOrder(&FrameReader::failed, QStringLiteral("failure"));
    QSignalSpy textSpy(&reader, &FrameReader::textMessageReceived);
    QSignalSpy pingSpy(&reader, &FrameReader::pingReceived);
    QSignalSpy pongSpy(&reader, &FrameReader::pongReceived);
    QSignalSpy closeSpy(&reader, &FrameReader::closeReceived);
    QSignalSpy failedSpy(&reader, &FrameReader::failed);

    qsizetype from = 0;
    for (int cut : cuts) {
        reader.feed(QByteArrayView(input).sliced(from, cut - from));
        from = cut;
    }
    reader.feed(QByteArrayView(input).sliced(from));
    reader.feed(encode({binaryFrame("after")}, incoming == Masking::Masked));

    for (const QList<QVariant> &ping : std::as_const(pingSpy))
        outcome.pings.append(ping.at(0).toByteArray());
    outcome.pongs = int(pongSpy.size());
    outcome.texts = int(textSpy.size());
    for (const QList<QVariant> &close : std::as_const(closeSpy))
        outcome.closes.append({close.at(0).value<quint16>(), close.at(1).toString()});
    for (const QList<QVariant> &failure : std::as_const(failedSpy)) {
        outcome.failures.append(failure.at(0).value<QWebSocketProtocol::CloseCode>());
        outcome.failureReasons.append(failure.at(1).toString());
    }
    return outcome;
}

// The scenario against both kinds of reader, with the masking each expects.
void addBothRows(const char *name, const QList<Frame> &frames, const Outcome &expected,
                 quint32 limit = kLimit)
{
    for (const Masking incoming : {Masking::Masked, Masking::Unmasked}) {
        QList<int> splits;
        const QByteArray input = encode(frames, incoming == Masking::Masked, &splits);
        QTest::addRow("%s: %s", incoming == Masking::Masked ? "server" : "client", name)
            << incoming << limit << input << splits << expected;
    }
}

void addRow(const char *name, Masking incoming, bool masked, const QList<Frame> &frames,
            const Outcome &expected)
{
    QList<int> splits;
    const QByteArray input = encode(frames, masked, &splits);
    QTest::addRow("%s", name) << incoming << kLimit << input << splits << expected;
}

// Once deleted, its memory is filled with a pattern and kept until released: a reader that still
// touches its members after being deleted from a slot then crashes at once, not only under
// valgrind.
class PoisonedReader : public FrameReader
{
public:
    using FrameReader::FrameReader;

    static void *operator new(std::size_t size) { return ::operator new(size); }
    static void operator delete(void *memory, std::size_t size)
    {
        std::memset(memory, 0xA5, size);
        s_graveyard.push_back(memory);
    }
    static void release()
    {
        for (void *memory : s_graveyard)
            ::operator delete(memory);
        s_graveyard.clear();
    }

private:
    static inline std::vector<void *> s_graveyard;
};

const int kProtocolError = QWebSocketProtocol::CloseCodeProtocolError;
const int kTooMuchData = QWebSocketProtocol::CloseCodeTooMuchData;
const int kWrongDatatype = QWebSocketProtocol::CloseCodeWrongDatatype;

} // namespace

class FrameReaderTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void reads_data()
    {
        QTest::addColumn<Masking>("incoming");
        QTest::addColumn<quint32>("limit");
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QList<int>>("headerSplits");
        QTest::addColumn<Outcome>("expected");

        // Op codes.
        addBothRows("binary", {binaryFrame("hello")}, Outcome().message("hello"));
        addBothRows("empty binary", {binaryFrame({})}, Outcome().message({}));
        addBothRows("continuation without a start", {continuationFrame("abc")},
                    Outcome().failure(kProtocolError));
        addBothRows("text", {frame(WebSocketFrame::Text, "hello"), binaryFrame("later")},
                    Outcome().text());
        addBothRows("ping", {frame(WebSocketFrame::Ping, "are you there")},
                    Outcome().ping("are you there"));
        addBothRows("empty ping", {frame(WebSocketFrame::Ping)}, Outcome().ping({}));
        addBothRows("pong", {frame(WebSocketFrame::Pong, "payload")}, Outcome().pong());
        addBothRows("close", {closeFrame(1000, "bye"), binaryFrame("later")},
                    Outcome().close(1000, QStringLiteral("bye")));
        for (quint8 opCode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
            const QByteArray name = "reserved op code " + QByteArray::number(opCode, 16);
            addBothRows(name.constData(), {binaryFrame("before"), frame(opCode, "x")},
                        Outcome().message("before").failure(kProtocolError));
        }

        // Length forms.
        for (qsizetype size : {125, 126, 65535, 65536, 99999}) {
            const QByteArray payload = pattern(size);
            const QByteArray name = QByteArray::number(size) + "-byte message";
            addBothRows(name.constData(), {binaryFrame(payload)}, Outcome().message(payload));
        }
        addBothRows("64-bit length with the most significant bit set",
                    {declaring(binaryFrame({}), (quint64(1) << 63) | 5)},
                    Outcome().failure(kProtocolError));
        addBothRows("length beyond the limit, before its payload",
                    {declaring(binaryFrame("only this"), quint64(1) << 40)},
                    Outcome().failure(kTooMuchData));
        // RFC 6455 section 5.2: the length takes the fewest bytes that hold it.
        addBothRows("16-bit length of 125 bytes",
                    {withLength(binaryFrame(pattern(125)), Length::Sixteen)},
                    Outcome().failure(kProtocolError));
        addBothRows("16-bit length of 0 bytes", {withLength(binaryFrame({}), Length::Sixteen)},
                    Outcome().failure(kProtocolError));
        addBothRows("64-bit length of 65535 bytes",
                    {withLength(binaryFrame(pattern(65535)), Length::SixtyFour)},
                    Outcome().failure(kProtocolError));
        addBothRows("64-bit length of 5 bytes",
                    {withLength(binaryFrame("hello"), Length::SixtyFour)},
                    Outcome().failure(kProtocolError));

        // Masking (RFC 6455 section 5.1).
        addRow("server: unmasked binary", Masking::Masked, false, {binaryFrame("hello")},
               Outcome().failure(kProtocolError));
        addRow("server: unmasked ping", Masking::Masked, false, {frame(WebSocketFrame::Ping, "p")},
               Outcome().failure(kProtocolError));
        addRow("server: unmasked close", Masking::Masked, false, {closeFrame(1000)},
               Outcome().failure(kProtocolError));
        addRow("client: masked binary", Masking::Unmasked, true, {binaryFrame("hello")},
               Outcome().failure(kProtocolError));
        addRow("client: masked pong", Masking::Unmasked, true, {frame(WebSocketFrame::Pong)},
               Outcome().failure(kProtocolError));
        {
            const QByteArray input =
                encode({binaryFrame("first")}, true) + encode({binaryFrame("second")}, false);
            QList<int> splits;
            for (int p = 1; p < input.size(); ++p)
                splits.append(p);
            QTest::addRow("server: masked, then unmasked")
                << Masking::Masked << kLimit << input << splits
                << Outcome().message("first").failure(kProtocolError);
        }

        // Fragments.
        addBothRows("2 fragments", {binaryFrame("hel", false), continuationFrame("lo")},
                    Outcome().message("hello"));
        addBothRows("3 fragments with a ping and a pong between",
                    {binaryFrame("one ", false), frame(WebSocketFrame::Ping, "p"),
                     continuationFrame("two ", false), frame(WebSocketFrame::Pong),
                     continuationFrame("three")},
                    Outcome().ping("p").pong().message("one two three"));
        addBothRows("empty fragments",
                    {binaryFrame({}, false), continuationFrame({}, false), continuationFrame({})},
                    Outcome().message({}));
        {
            const QByteArray payload = pattern(90000);
            addBothRows("3 fragments of 30000 bytes",
                        {binaryFrame(payload.sliced(0, 30000), false),
                         continuationFrame(payload.sliced(30000, 30000), false),
                         continuationFrame(payload.sliced(60000))},
                        Outcome().message(payload));
        }
        addBothRows("close between fragments", {binaryFrame("a", false), closeFrame(1001)},
                    Outcome().close(1001));
        addBothRows("continuation after a complete message",
                    {binaryFrame("a"), continuationFrame("b")},
                    Outcome().message("a").failure(kProtocolError));
        addBothRows("binary inside a fragmented message",
                    {binaryFrame("a", false), binaryFrame("b")}, Outcome().failure(kProtocolError));
        addBothRows("text inside a fragmented message",
                    {binaryFrame("a", false), frame(WebSocketFrame::Text, "b")},
                    Outcome().failure(kProtocolError));
        addBothRows("fragmented text",
                    {frame(WebSocketFrame::Text, "a", false), continuationFrame("b")},
                    Outcome().text());

        // Control frames: never fragmented, at most 125 bytes, not bound by the message limit.
        for (quint8 opCode : {WebSocketFrame::Ping, WebSocketFrame::Pong, WebSocketFrame::Close}) {
            const QByteArray op = QByteArray::number(opCode, 16);
            addBothRows(("fragmented control frame " + op).constData(),
                        {binaryFrame("before"), frame(opCode, {}, false)},
                        Outcome().message("before").failure(kProtocolError));
            addBothRows(("126-byte control frame " + op).constData(), {frame(opCode, pattern(126))},
                        Outcome().failure(kProtocolError));
            addBothRows(("control frame " + op + " inside fragments").constData(),
                        {binaryFrame("a", false), frame(opCode, {}, false)},
                        Outcome().failure(kProtocolError));
        }
        addBothRows("125-byte ping", {frame(WebSocketFrame::Ping, pattern(125))},
                    Outcome().ping(pattern(125)));
        addBothRows("125-byte ping above a limit of 10",
                    {frame(WebSocketFrame::Ping, pattern(125))}, Outcome().ping(pattern(125)), 10);

        // Reserved bits without a negotiated extension.
        for (quint8 bits : {0x40, 0x20, 0x10}) {
            const QByteArray name = "reserved bit " + QByteArray::number(bits, 16);
            addBothRows((name + " on binary").constData(), {withReserved(binaryFrame("x"), bits)},
                        Outcome().failure(kProtocolError));
            addBothRows((name + " on ping").constData(),
                        {withReserved(frame(WebSocketFrame::Ping), bits)},
                        Outcome().failure(kProtocolError));
            addBothRows((name + " on a continuation").constData(),
                        {binaryFrame("x", false), withReserved(continuationFrame("y"), bits)},
                        Outcome().failure(kProtocolError));
        }

        // The message size limit.
        addBothRows("message of the limit", {binaryFrame(pattern(1000))},
                    Outcome().message(pattern(1000)), 1000);
        addBothRows("message over the limit", {binaryFrame("small"), binaryFrame(pattern(1001))},
                    Outcome().message("small").failure(kTooMuchData), 1000);
        addBothRows("fragments up to the limit",
                    {binaryFrame(pattern(500), false), continuationFrame(pattern(500))},
                    Outcome().message(pattern(500) + pattern(500)), 1000);
        addBothRows("fragments over the limit",
                    {binaryFrame(pattern(500), false), continuationFrame(pattern(400), false),
                     continuationFrame(pattern(101))},
                    Outcome().failure(kTooMuchData), 1000);

        // Several frames arriving together.
        addBothRows("several frames",
                    {binaryFrame("one"), frame(WebSocketFrame::Ping, "p1"), binaryFrame("two"),
                     frame(WebSocketFrame::Pong), binaryFrame("thr", false),
                     continuationFrame("ee"), binaryFrame({}), frame(WebSocketFrame::Ping, "p2")},
                    Outcome()
                        .message("one")
                        .ping("p1")
                        .message("two")
                        .pong()
                        .message("three")
                        .message({})
                        .ping("p2"));

        // Close frames (RFC 6455 sections 5.5.1 and 7.4).
        addBothRows("close without a payload", {frame(WebSocketFrame::Close)},
                    Outcome().close(QWebSocketProtocol::CloseCodeMissingStatusCode));
        addBothRows("close with a 1-byte payload", {frame(WebSocketFrame::Close, "\x03")},
                    Outcome().failure(kProtocolError));
        addBothRows("close with a code only", {closeFrame(1001)}, Outcome().close(1001));
        addBothRows("close with a 123-byte reason", {closeFrame(1000, QByteArray(123, 'r'))},
                    Outcome().close(1000, QString(123, QLatin1Char('r'))));
        addBothRows("close with a UTF-8 reason",
                    {closeFrame(1000, QStringLiteral("tschüss ☃ \U0001F600").toUtf8())},
                    Outcome().close(1000, QStringLiteral("tschüss ☃ \U0001F600")));
        for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                         3000, 3999, 4000, 4999}) {
            const QByteArray name = "close code " + QByteArray::number(code);
            addBothRows(name.constData(), {closeFrame(quint16(code), "why")},
                        Outcome().close(code, QStringLiteral("why")));
        }
        for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
            const QByteArray name = "forbidden close code " + QByteArray::number(code);
            addBothRows(name.constData(), {closeFrame(quint16(code), "why")},
                        Outcome().failure(kProtocolError));
        }
        const QList<QPair<const char *, QByteArray>> invalidUtf8 = {
            {"stray byte", QByteArray("\xff", 1)},
            {"cut-off sequence", QByteArray("ok \xc3", 4)},
            {"lone continuation byte", QByteArray("ok \x80", 4)},
            {"overlong encoding", QByteArray("\xc0\xaf", 2)},
            {"surrogate", QByteArray("\xed\xa0\x80", 3)},
            {"beyond U+10FFFF", QByteArray("\xf4\x90\x80\x80", 4)},
        };
        for (const auto &[what, reason] : invalidUtf8) {
            const QByteArray name = QByteArray("close reason with a ") + what;
            addBothRows(name.constData(), {closeFrame(1000, reason)},
                        Outcome().failure(kWrongDatatype));
        }
        addBothRows("frames after a close",
                    {closeFrame(1000), binaryFrame("x"), frame(WebSocketFrame::Ping)},
                    Outcome().close(1000));
    }

    // Every input is followed by one more message, "after": it arrives unless the input ended the
    // reading, which shows both that the reader kept its place in the stream and that nothing is
    // emitted after the end. Each input is read whole, one byte at a time and split in two at
    // every position in or around each header, with the same outcome.
    void reads()
    {
        QFETCH(Masking, incoming);
        QFETCH(quint32, limit);
        QFETCH(QByteArray, input);
        QFETCH(QList<int>, headerSplits);
        QFETCH(Outcome, expected);
        if (!expected.endsReading())
            expected.message("after");

        const Outcome whole = run(incoming, limit, input, {});
        QCOMPARE(whole, expected);
        QCOMPARE(whole.failureReasons.size(), whole.failures.size());
        for (const QString &reason : whole.failureReasons)
            QVERIFY(!reason.isEmpty());

        QList<int> everyByte;
        for (int i = 1; i < input.size(); ++i)
            everyByte.append(i);
        const Outcome byteByByte = run(incoming, limit, input, everyByte);
        QVERIFY2(byteByByte == expected,
                 qPrintable(QStringLiteral("one byte at a time: %1").arg(describe(byteByByte))));

        for (int split : std::as_const(headerSplits)) {
            if (split >= input.size())
                continue;
            const Outcome halves = run(incoming, limit, input, {split});
            QVERIFY2(
                halves == expected,
                qPrintable(QStringLiteral("split at %1: %2").arg(split).arg(describe(halves))));
        }
    }

    // The reader's user may delete it from any of its signals; it must touch nothing afterwards
    // and emit nothing more.
    void deletedFromASlot_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("deleteOn");
        QTest::addColumn<QStringList>("emitted");

        const auto row = [](const char *name, const QList<Frame> &frames, const char *deleteOn,
                            const QStringList &emitted) {
            QTest::addRow("%s", name)
                << encode(frames, true) << QString::fromLatin1(deleteOn) << emitted;
        };
        const QStringList pingThenBinary = {QStringLiteral("ping"), QStringLiteral("binary")};
        row("binary", {frame(WebSocketFrame::Ping), binaryFrame("a"), binaryFrame("b")}, "binary",
            pingThenBinary);
        row("reassembled binary",
            {frame(WebSocketFrame::Ping), binaryFrame("a", false), continuationFrame("b"),
             binaryFrame("c")},
            "binary", pingThenBinary);
        row("ping", {frame(WebSocketFrame::Ping), binaryFrame("a")}, "ping",
            {QStringLiteral("ping")});
        row("pong", {frame(WebSocketFrame::Pong), binaryFrame("a")}, "pong",
            {QStringLiteral("pong")});
        row("close", {binaryFrame("a"), closeFrame(1000), binaryFrame("b")}, "close",
            {QStringLiteral("binary"), QStringLiteral("close")});
        row("text", {frame(WebSocketFrame::Text), binaryFrame("a")}, "text",
            {QStringLiteral("text")});
        row("failed", {binaryFrame("a"), continuationFrame("b"), binaryFrame("c")}, "failed",
            {QStringLiteral("binary"), QStringLiteral("failed")});
        row("failed on a close", {closeFrame(1005), binaryFrame("a")}, "failed",
            {QStringLiteral("failed")});
    }

    void deletedFromASlot()
    {
        QFETCH(QByteArray, input);
        QFETCH(QString, deleteOn);
        QFETCH(QStringList, emitted);
        const auto release = qScopeGuard([] { PoisonedReader::release(); });
        FrameReader *reader = new PoisonedReader(kLimit, Masking::Masked);
        const QPointer<FrameReader> alive(reader);
        QObject context;
        QStringList seen;
        const auto watch = [&](auto signal, const QString &name) {
            QObject::connect(reader, signal, &context, [&, name] {
                seen.append(name);
                if (name == deleteOn)
                    delete reader;
            });
        };
        watch(&FrameReader::binaryMessageReceived, QStringLiteral("binary"));
        watch(&FrameReader::pingReceived, QStringLiteral("ping"));
        watch(&FrameReader::pongReceived, QStringLiteral("pong"));
        watch(&FrameReader::closeReceived, QStringLiteral("close"));
        watch(&FrameReader::textMessageReceived, QStringLiteral("text"));
        watch(&FrameReader::failed, QStringLiteral("failed"));
        reader->feed(input);
        QVERIFY(!alive);
        QCOMPARE(seen, emitted);
    }

    // WebSocketStream::stop() relies on it: frames already received are not delivered either.
    void stoppedFromASlot()
    {
        FrameReader reader(kLimit, Masking::Unmasked);
        QList<QByteArray> messages;
        connect(&reader, &FrameReader::binaryMessageReceived, &reader, [&](QByteArrayView m) {
            messages.append(m.toByteArray());
            reader.stop();
        });
        QSignalSpy pings(&reader, &FrameReader::pingReceived);
        QSignalSpy failed(&reader, &FrameReader::failed);
        reader.feed(
            encode({binaryFrame("a"), frame(WebSocketFrame::Ping), binaryFrame("b")}, false));
        QVERIFY(reader.isStopped());
        reader.feed(encode({binaryFrame("c"), frame(WebSocketFrame::Ping)}, false));
        QCOMPARE(messages, QList<QByteArray>{"a"});
        QCOMPARE(pings.size(), 0);
        QCOMPARE(failed.size(), 0);
    }

    // The zero-copy path: an unfragmented message is unmasked where it was read and delivered
    // from there.
    void unfragmentedMessageComesFromTheReadSpace()
    {
        FrameReader reader(kLimit, Masking::Masked);
        const QByteArray payload = pattern(70000);
        const QByteArray wire = encode({binaryFrame(payload)}, true);
        const qsizetype minimum = reader.nextReadSize();
        QCOMPARE(minimum, FrameReader::kReadSize);
        const FrameReader::ReadSpace space = reader.prepareRead(minimum);
        QVERIFY(space.size >= minimum);
        std::memcpy(space.data, wire.constData(), size_t(wire.size()));
        const char *delivered = nullptr;
        QByteArray message;
        connect(&reader, &FrameReader::binaryMessageReceived, &reader, [&](QByteArrayView m) {
            delivered = m.data();
            message = m.toByteArray();
        });
        reader.commit(wire.size());
        QCOMPARE(message, payload);
        QVERIFY(delivered == space.data + (wire.size() - payload.size()));
    }

    // A relay keeps a large message as the array it was read into, and the reader reads on into
    // a new one: every message before and after it arrives whole.
    void takenMessage_data()
    {
        QTest::addColumn<QByteArray>("firstRead");
        QTest::addColumn<QByteArray>("secondRead");
        QTest::addColumn<bool>("askOutside"); // for a part that is not in the message
        QTest::addColumn<bool>("taken");
        QTest::addColumn<QList<QByteArray>>("messages");
        const QByteArray large = pattern(200000);
        const QByteArray other = pattern(150000).right(140000);
        const QByteArray otherWire = encode({binaryFrame(other)}, true);
        QTest::addRow("a large message alone") << encode({binaryFrame(large)}, true) << QByteArray()
                                               << false << true << QList<QByteArray>{large};
        QTest::addRow("a large message, then a small one")
            << encode({binaryFrame(large), binaryFrame("tail")}, true) << QByteArray() << false
            << true << QList<QByteArray>{large, "tail"};
        QTest::addRow("a large message, then part of another")
            << encode({binaryFrame(large)}, true) + otherWire.left(10000) << otherWire.mid(10000)
            << false << true << QList<QByteArray>{large, other};
        QTest::addRow("a large message, then much more")
            << encode({binaryFrame(large)}, true) + otherWire << QByteArray() << false << false
            << QList<QByteArray>{large, other};
        QTest::addRow("a small message")
            << encode({binaryFrame(pattern(1000))}, true) << QByteArray() << false << false
            << QList<QByteArray>{pattern(1000)};
        QTest::addRow("a part outside the message")
            << encode({binaryFrame(large)}, true) << QByteArray() << true << false
            << QList<QByteArray>{large};
        QTest::addRow("a fragmented message")
            << encode(
                   {binaryFrame(large.left(100000), false), continuationFrame(large.mid(100000))},
                   true)
            << QByteArray() << false << false << QList<QByteArray>{large};
    }

    void takenMessage()
    {
        QFETCH(QByteArray, firstRead);
        QFETCH(QByteArray, secondRead);
        QFETCH(bool, askOutside);
        QFETCH(bool, taken);
        QFETCH(QList<QByteArray>, messages);
        FrameReader reader(1024 * 1024, Masking::Masked);
        QList<QByteArray> received;
        QByteArray kept;
        bool viewInKept = false;
        connect(&reader, &FrameReader::binaryMessageReceived, &reader, [&](QByteArrayView m) {
            if (received.isEmpty()) {
                const QByteArray elsewhere(16, 'x');
                kept = reader.takeMessage(askOutside ? QByteArrayView(elsewhere) : m.first(16));
                viewInKept = !kept.isNull() && kept.constData() == m.data();
            }
            received.append(m.toByteArray());
        });
        for (const QByteArray &read : {firstRead, secondRead}) {
            const FrameReader::ReadSpace space = reader.prepareRead(read.size());
            std::memcpy(space.data, read.constData(), size_t(read.size()));
            reader.commit(read.size());
        }
        QCOMPARE(!kept.isNull(), taken);
        if (taken) {
            QVERIFY(viewInKept);
            QCOMPARE(kept, messages.first());
        }
        QCOMPARE(received, messages);
        QCOMPARE(reader.takeMessage(QByteArrayView(received.first())), QByteArray());
    }

    void nextReadSize_data()
    {
        QTest::addColumn<QByteArray>("received");
        QTest::addColumn<qsizetype>("expected");
        const QByteArray small = encode({binaryFrame("hello")}, false);
        const QByteArray large = encode({binaryFrame(pattern(1000))}, false);
        const qsizetype header = WebSocketFrame::kMaxHeaderSize;
        QTest::addRow("nothing") << QByteArray() << FrameReader::kReadSize;
        QTest::addRow("first byte of a header") << large.left(1) << FrameReader::kReadSize;
        QTest::addRow("16-bit header cut short") << large.left(3) << FrameReader::kReadSize;
        QTest::addRow("header of a 1000-byte frame") << large.left(4) << 1000 + header;
        QTest::addRow("header and 10 bytes") << large.left(14) << 990 + header;
        QTest::addRow("all but the last byte") << large.chopped(1) << 1 + header;
        QTest::addRow("complete frame") << large << FrameReader::kReadSize;
        QTest::addRow("complete frame and a header") << small + large.left(4) << 1000 + header;
    }

    void nextReadSize()
    {
        QFETCH(QByteArray, received);
        QFETCH(qsizetype, expected);
        FrameReader reader(kLimit, Masking::Unmasked);
        reader.feed(received);
        QCOMPARE(reader.nextReadSize(), expected);
    }
};

QTEST_MAIN(FrameReaderTest)
#include "tst_framereader.moc"
