#include "WebSocketFrame.h"

#include <QString>
#include <QtEndian>

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define WSTUNNEL_MASK_AVX2 1
#endif

namespace wstunnel {

namespace {

#ifdef WSTUNNEL_MASK_AVX2
// 32 bytes per step where the CPU has AVX2 (checked at run time): 2.5-4 times the 8-byte loop
// below, which matters on the hub, which unmasks every byte it relays (docs/PERFORMANCE.md).
// Returns how many bytes it did, a multiple of 32, so the key's position is unchanged after.
__attribute__((target("avx2"))) qsizetype maskAvx2(const uchar *src, uchar *dst, qsizetype size,
                                                   quint64 word)
{
    const __m256i key = _mm256_set1_epi64x(qint64(word));
    qsizetype i = 0;
    for (; i + 32 <= size; i += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i), _mm256_xor_si256(v, key));
    }
    return i;
}

// Runs among the static initialisers, possibly before the compiler runtime's own detection.
const bool g_hasAvx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}();
#endif

} // namespace

int WebSocketFrame::writeHeader(char *out, quint8 opCode, bool final, quint64 payloadSize,
                                bool masked, quint32 maskKey)
{
    auto *bytes = reinterpret_cast<uchar *>(out);
    bytes[0] = uchar((final ? 0x80 : 0x00) | (opCode & 0x0F));
    const uchar maskBit = masked ? 0x80 : 0x00;
    int size = 2;
    if (payloadSize <= 125) {
        bytes[1] = uchar(maskBit | payloadSize);
    } else if (payloadSize <= 0xFFFF) {
        bytes[1] = uchar(maskBit | 126);
        qToBigEndian(quint16(payloadSize), bytes + 2);
        size = 4;
    } else {
        bytes[1] = uchar(maskBit | 127);
        qToBigEndian(payloadSize, bytes + 2);
        size = 10;
    }
    if (masked) {
        std::memcpy(bytes + size, &maskKey, 4);
        size += 4;
    }
    return size;
}

WebSocketFrame::Parse WebSocketFrame::parseHeader(QByteArrayView bytes, Header &header,
                                                  QString *error)
{
    auto invalid = [error](const char *reason) {
        if (error)
            *error = QString::fromLatin1(reason);
        return Parse::Invalid;
    };
    if (bytes.size() < 2)
        return Parse::Incomplete;
    const auto *b = reinterpret_cast<const uchar *>(bytes.data());
    if (b[0] & 0x70)
        return invalid("reserved bits set without a negotiated extension");
    header.final = (b[0] & 0x80) != 0;
    header.opCode = b[0] & 0x0F;
    header.masked = (b[1] & 0x80) != 0;
    const bool control = (header.opCode & 0x08) != 0;
    switch (header.opCode) {
    case Continuation:
    case Text:
    case Binary:
    case Close:
    case Ping:
    case Pong:
        break;
    default:
        return invalid("reserved op code");
    }
    const quint8 length7 = b[1] & 0x7F;
    if (control && (!header.final || length7 > 125))
        return invalid("fragmented or oversized control frame");
    int size = 2;
    if (length7 == 126) {
        if (bytes.size() < 4)
            return Parse::Incomplete;
        header.payloadSize = qFromBigEndian<quint16>(b + 2);
        if (header.payloadSize < 126)
            return invalid("16-bit payload length below 126");
        size = 4;
    } else if (length7 == 127) {
        if (bytes.size() < 10)
            return Parse::Incomplete;
        header.payloadSize = qFromBigEndian<quint64>(b + 2);
        if (header.payloadSize >> 63)
            return invalid("payload length with the most significant bit set");
        if (header.payloadSize <= 0xFFFF)
            return invalid("64-bit payload length below 65536");
        size = 10;
    } else {
        header.payloadSize = length7;
    }
    if (header.masked) {
        if (bytes.size() < size + 4)
            return Parse::Incomplete;
        std::memcpy(&header.maskKey, b + size, 4);
        size += 4;
    } else {
        header.maskKey = 0;
    }
    header.headerSize = size;
    return Parse::Complete;
}

void WebSocketFrame::mask(char *data, qsizetype size, quint32 maskKey, int position)
{
    mask(data, data, size, maskKey, position);
}

void WebSocketFrame::mask(const char *in, char *out, qsizetype size, quint32 maskKey, int position)
{
    const auto *key = reinterpret_cast<const uchar *>(&maskKey);
    const auto *src = reinterpret_cast<const uchar *>(in);
    auto *dst = reinterpret_cast<uchar *>(out);
    // Eight bytes per step with the key repeated twice, rotated to the starting position; memcpy
    // keeps it free of alignment and aliasing assumptions and compiles to plain loads and stores.
    uchar repeated[8];
    for (int k = 0; k < 8; ++k)
        repeated[k] = key[(position + k) & 3];
    quint64 word;
    std::memcpy(&word, repeated, 8);
    qsizetype i = 0;
#ifdef WSTUNNEL_MASK_AVX2
    if (g_hasAvx2)
        i = maskAvx2(src, dst, size, word);
#endif
    for (; i + 8 <= size; i += 8) {
        quint64 v;
        std::memcpy(&v, src + i, 8);
        v ^= word;
        std::memcpy(dst + i, &v, 8);
    }
    for (; i < size; ++i)
        dst[i] = src[i] ^ key[(position + i) & 3];
}

} // namespace wstunnel
