#pragma once

#include <QByteArrayView>
#include <QtGlobal>

namespace wstunnel {

// RFC 6455 frame headers and masking, for the session's own frame writer and reader
// (docs/PERFORMANCE.md, "Profile findings": QWebSocket masks and unmasks one byte at a time).
class WebSocketFrame
{
public:
    enum OpCode : quint8 {
        Continuation = 0x0,
        Text = 0x1,
        Binary = 0x2,
        Close = 0x8,
        Ping = 0x9,
        Pong = 0xA,
    };

    // The longest header: 2 bytes, 8 bytes of extended length, 4 bytes of masking key.
    static constexpr int kMaxHeaderSize = 14;

    struct Header
    {
        quint8 opCode = 0;
        bool final = false;
        bool masked = false;
        quint32 maskKey = 0; // as it appears on the wire, first byte in the lowest address
        int headerSize = 0;  // bytes of header before the payload
        quint64 payloadSize = 0;
    };

    enum class Parse { Complete, Incomplete, Invalid };

    // Writes the header of a single frame and returns its size (at most kMaxHeaderSize). The key
    // is written as-is and must be the same value later given to mask().
    static int writeHeader(char *out, quint8 opCode, bool final, quint64 payloadSize, bool masked,
                           quint32 maskKey);

    // Reads a header from the start of bytes: Incomplete until all of it is there; Invalid for
    // reserved bits, unknown op codes, control frames that are fragmented or longer than 125
    // bytes and lengths not written in the fewest bytes (RFC 6455 section 5.2). Says nothing
    // about whether the payload has arrived.
    static Parse parseHeader(QByteArrayView bytes, Header &header, QString *error = nullptr);

    // XORs data with the key as RFC 6455 section 5.3 defines it, where data starts at byte
    // position (0-3) of the key; masking twice restores the input.
    static void mask(char *data, qsizetype size, quint32 maskKey, int position = 0);
    // The same into out, which may be in itself: the input stays untouched, e.g. while it is
    // shared with a replay log.
    static void mask(const char *in, char *out, qsizetype size, quint32 maskKey, int position = 0);
};

} // namespace wstunnel
