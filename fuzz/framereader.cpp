// The WebSocket frame reader of both ends on arbitrary bytes: it must never crash, never deliver
// a message over its limit, emit nothing after it ended, and see the same events whether the
// bytes arrive at once or in pieces, through feed() or through prepareRead() and commit().
#include "FuzzSupport.h"

#include "protocol/FrameReader.h"

#include <QStringList>

#include <algorithm>
#include <cstring>

using namespace wstunnel;

namespace {

struct Outcome
{
    QStringList events;
    bool ended = false;
    int eventsAfterEnd = 0;
};

void record(Outcome &outcome, const QString &event, bool ends = false)
{
    if (outcome.ended)
        ++outcome.eventsAfterEnd;
    outcome.events.append(event);
    outcome.ended = outcome.ended || ends;
}

Outcome run(QByteArrayView stream, FrameReader::Masking masking, quint32 maxMessageSize,
            qsizetype pieceSize, bool throughCommit)
{
    Outcome outcome;
    FrameReader reader(maxMessageSize, masking);
    QObject::connect(
        &reader, &FrameReader::binaryMessageReceived, &reader, [&](QByteArrayView message) {
            fuzz::require(quint64(message.size()) <= maxMessageSize,
                          "no message exceeds the limit");
            record(outcome, QStringLiteral("binary %1")
                                .arg(QString::fromLatin1(message.toByteArray().toHex())));
        });
    QObject::connect(&reader, &FrameReader::textMessageReceived, &reader,
                     [&] { record(outcome, QStringLiteral("text"), true); });
    QObject::connect(&reader, &FrameReader::pingReceived, &reader, [&](const QByteArray &payload) {
        fuzz::require(payload.size() <= 125, "a ping payload is at most 125 bytes");
        record(outcome, QStringLiteral("ping %1").arg(QString::fromLatin1(payload.toHex())));
    });
    QObject::connect(&reader, &FrameReader::pongReceived, &reader,
                     [&] { record(outcome, QStringLiteral("pong")); });
    QObject::connect(&reader, &FrameReader::closeReceived, &reader,
                     [&](quint16 code, const QString &reason) {
                         record(outcome, QStringLiteral("close %1 %2").arg(code).arg(reason), true);
                     });
    QObject::connect(&reader, &FrameReader::failed, &reader,
                     [&](QWebSocketProtocol::CloseCode code, const QString &reason) {
                         record(outcome, QStringLiteral("failed %1 %2").arg(int(code)).arg(reason),
                                true);
                     });
    qsizetype position = 0;
    while (position < stream.size() && !reader.isStopped()) {
        const qsizetype piece = std::min(pieceSize, stream.size() - position);
        if (throughCommit) {
            const qsizetype wanted = std::max<qsizetype>(piece, 1);
            fuzz::require(reader.nextReadSize() > 0, "the reader always wants more bytes");
            const FrameReader::ReadSpace space = reader.prepareRead(wanted);
            fuzz::require(space.size >= wanted, "prepareRead() gives the room asked for");
            std::memcpy(space.data, stream.data() + position, size_t(piece));
            reader.commit(piece);
        } else {
            reader.feed(stream.sliced(position, piece));
        }
        position += piece;
    }
    return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    // Two bytes choose the reader and how the bytes arrive; the rest is the stream.
    const FrameReader::Masking masking =
        (data[0] & 1) ? FrameReader::Masking::Unmasked : FrameReader::Masking::Masked;
    const qsizetype pieceSize = 1 + ((data[0] >> 1) & 0x3F);
    const quint32 maxMessageSize = 1 + quint32(data[1]) * 64;
    const QByteArrayView stream = fuzz::bytesOf(data + 2, size - 2);

    const Outcome whole = run(stream, masking, maxMessageSize, stream.size() + 1, false);
    fuzz::require(whole.eventsAfterEnd == 0, "nothing is emitted after the reader ended");
    const Outcome fed = run(stream, masking, maxMessageSize, pieceSize, false);
    fuzz::require(fed.events == whole.events, "feeding in pieces gives the same events");
    const Outcome committed = run(stream, masking, maxMessageSize, pieceSize, true);
    fuzz::require(committed.events == whole.events, "prepareRead()/commit() give the same events");
    return 0;
}
