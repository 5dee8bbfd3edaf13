#pragma once

#include "protocol/Message.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace wstunnel {

// The client's side of a SOCKS handshake, up to its CONNECT request, without a socket: SOCKS5
// (RFC 1928) without authentication, and SOCKS4/4a. Domain names stay unresolved, so that the
// far side resolves them and its allow-list sees the name the client asked for.
//
// The caller reads no more than bytesWanted() at a time, so that nothing after the request (the
// client's first payload) is taken from the socket; feed() hands what it read, takeOutput() what
// to send back (SOCKS5's method choice, or the refusal once the handshake failed).
class SocksHandshake
{
public:
    enum class State { Reading, Requested, Failed };
    // SOCKS5 reply codes (RFC 1928, section 6).
    enum class Reply : quint8 {
        Succeeded = 0,
        GeneralFailure = 1,
        NotAllowed = 2,
        NetworkUnreachable = 3,
        HostUnreachable = 4,
        ConnectionRefused = 5,
        TtlExpired = 6,
        CommandNotSupported = 7,
        AddressTypeNotSupported = 8,
    };

    static constexpr int kMaxUserIdLength = 255;

    // Returns how many bytes it took; fewer than given once the request is complete or failed.
    qsizetype feed(QByteArrayView bytes);
    // How many bytes may be read next without reading past the request (0 when done).
    qsizetype bytesWanted() const;
    QByteArray takeOutput();

    State state() const { return m_state; }
    int version() const { return m_version; }
    // The CONNECT request's target; a domain name as the client gave it.
    QString host() const { return m_host; }
    quint16 port() const { return m_port; }
    // Why the handshake failed, for the log.
    QString error() const { return m_error; }

    // The answer to the request, in the client's version.
    QByteArray reply(Reply code) const;
    // What the far side's open-failed code means to a SOCKS client.
    static Reply replyFor(FailureCode code);

private:
    enum class Phase { Version, Greeting, Request, Socks4 };

    void parse();
    void parseGreeting();
    void parseRequest();
    void parseSocks4();
    void fail(const QString &error, QByteArray output);

    State m_state = State::Reading;
    Phase m_phase = Phase::Version;
    int m_version = 0;
    QByteArray m_buffer; // the current message so far
    QByteArray m_output;
    QString m_host;
    quint16 m_port = 0;
    QString m_error;
};

} // namespace wstunnel
