#include "SocksHandshake.h"

#include <QHostAddress>
#include <QtEndian>

#include <algorithm>

namespace wstunnel {

namespace {

constexpr char kNoAuthentication = 0x00;
constexpr char kNoAcceptableMethod = char(0xFF);
constexpr quint8 kConnect = 1;
constexpr quint8 kAddressIpv4 = 1;
constexpr quint8 kAddressDomain = 3;
constexpr quint8 kAddressIpv6 = 4;
constexpr char kSocks4Granted = 0x5A;
constexpr char kSocks4Rejected = 0x5B;
constexpr qsizetype kSocks4HeaderSize = 8; // VN CD DSTPORT(2) DSTIP(4)

quint8 byteAt(const QByteArray &bytes, qsizetype index)
{
    return quint8(bytes.at(index));
}

quint16 portAt(const QByteArray &bytes, qsizetype index)
{
    return qFromBigEndian<quint16>(bytes.constData() + index);
}

} // namespace

qsizetype SocksHandshake::feed(QByteArrayView bytes)
{
    qsizetype taken = 0;
    while (taken < bytes.size() && m_state == State::Reading) {
        const qsizetype chunk = std::min(bytesWanted(), bytes.size() - taken);
        m_buffer.append(bytes.data() + taken, chunk);
        taken += chunk;
        parse();
    }
    return taken;
}

qsizetype SocksHandshake::bytesWanted() const
{
    if (m_state != State::Reading)
        return 0;
    const qsizetype size = m_buffer.size();
    switch (m_phase) {
    case Phase::Version:
        return 1;
    case Phase::Greeting:
        return size < 2 ? 2 - size : 2 + byteAt(m_buffer, 1) - size;
    case Phase::Request: {
        // VER CMD RSV ATYP first, to refuse an unsupported request before reading its address.
        if (size < 4)
            return 4 - size;
        if (size == 4)
            return 1;
        switch (byteAt(m_buffer, 3)) {
        case kAddressIpv4:
            return 10 - size;
        case kAddressDomain:
            return 7 + byteAt(m_buffer, 4) - size;
        default:
            return 22 - size;
        }
    }
    case Phase::Socks4:
        // Past the header come NUL-terminated strings: byte by byte, to stop at the last NUL.
        return size < kSocks4HeaderSize ? kSocks4HeaderSize - size : 1;
    }
    return 0;
}

QByteArray SocksHandshake::takeOutput()
{
    return std::exchange(m_output, QByteArray());
}

QByteArray SocksHandshake::reply(Reply code) const
{
    if (m_version == 4) {
        QByteArray answer(8, '\0');
        answer[1] = code == Reply::Succeeded ? kSocks4Granted : kSocks4Rejected;
        return answer;
    }
    // The bound address is of no use to a CONNECT client; zeros are what most servers send.
    QByteArray answer(10, '\0');
    answer[0] = 5;
    answer[1] = char(code);
    answer[3] = char(kAddressIpv4);
    return answer;
}

SocksHandshake::Reply SocksHandshake::replyFor(FailureCode code)
{
    switch (code) {
    case FailureCode::NotAllowed:
        return Reply::NotAllowed;
    case FailureCode::Unreachable:
        return Reply::HostUnreachable;
    case FailureCode::Refused:
        return Reply::ConnectionRefused;
    case FailureCode::TimedOut:
        return Reply::TtlExpired;
    default:
        return Reply::GeneralFailure;
    }
}

void SocksHandshake::parse()
{
    switch (m_phase) {
    case Phase::Version:
        m_version = byteAt(m_buffer, 0);
        if (m_version == 5) {
            m_phase = Phase::Greeting;
        } else if (m_version == 4) {
            m_phase = Phase::Socks4;
        } else {
            fail(QStringLiteral("not a SOCKS4 or SOCKS5 client (first byte %1)").arg(m_version),
                 QByteArray());
        }
        return;
    case Phase::Greeting:
        parseGreeting();
        return;
    case Phase::Request:
        parseRequest();
        return;
    case Phase::Socks4:
        parseSocks4();
        return;
    }
}

void SocksHandshake::parseGreeting()
{
    if (bytesWanted() > 0)
        return;
    if (!m_buffer.sliced(2).contains(kNoAuthentication)) {
        fail(QStringLiteral("the client offers no method without authentication"),
             QByteArray("\x05") + kNoAcceptableMethod);
        return;
    }
    m_output.append("\x05", 1);
    m_output.append(kNoAuthentication);
    m_buffer.clear();
    m_phase = Phase::Request;
}

void SocksHandshake::parseRequest()
{
    if (m_buffer.size() == 4) {
        if (byteAt(m_buffer, 0) != 5) {
            fail(QStringLiteral("request of version %1 after a SOCKS5 greeting")
                     .arg(byteAt(m_buffer, 0)),
                 reply(Reply::GeneralFailure));
            return;
        }
        if (byteAt(m_buffer, 1) != kConnect) {
            fail(QStringLiteral("command %1 is not supported (only CONNECT)")
                     .arg(byteAt(m_buffer, 1)),
                 reply(Reply::CommandNotSupported));
            return;
        }
        const quint8 type = byteAt(m_buffer, 3);
        if (type != kAddressIpv4 && type != kAddressDomain && type != kAddressIpv6)
            fail(QStringLiteral("address type %1 is not supported").arg(type),
                 reply(Reply::AddressTypeNotSupported));
        return;
    }
    if (m_buffer.size() == 5 && byteAt(m_buffer, 3) == kAddressDomain && byteAt(m_buffer, 4) == 0) {
        fail(QStringLiteral("empty domain name"), reply(Reply::GeneralFailure));
        return;
    }
    if (m_buffer.size() < 5 || bytesWanted() > 0)
        return;
    switch (byteAt(m_buffer, 3)) {
    case kAddressIpv4:
        m_host = QHostAddress(qFromBigEndian<quint32>(m_buffer.constData() + 4)).toString();
        break;
    case kAddressDomain:
        m_host = QString::fromLatin1(m_buffer.sliced(5, byteAt(m_buffer, 4)));
        break;
    default:
        m_host =
            QHostAddress(reinterpret_cast<const quint8 *>(m_buffer.constData() + 4)).toString();
        break;
    }
    m_port = portAt(m_buffer, m_buffer.size() - 2);
    m_state = State::Requested;
}

void SocksHandshake::parseSocks4()
{
    if (m_buffer.size() < kSocks4HeaderSize)
        return;
    if (m_buffer.size() == kSocks4HeaderSize && byteAt(m_buffer, 1) != kConnect) {
        fail(QStringLiteral("SOCKS4 command %1 is not supported (only CONNECT)")
                 .arg(byteAt(m_buffer, 1)),
             reply(Reply::CommandNotSupported));
        return;
    }
    if (m_buffer.size() == kSocks4HeaderSize || m_buffer.back() != '\0') {
        if (m_buffer.size() > kSocks4HeaderSize + 2 * (kMaxUserIdLength + 1))
            fail(QStringLiteral("SOCKS4 user id or host name too long"),
                 reply(Reply::GeneralFailure));
        return;
    }
    // SOCKS4a: an address 0.0.0.x (x > 0) means a host name follows the user id.
    const quint32 address = qFromBigEndian<quint32>(m_buffer.constData() + 4);
    const bool named = address > 0 && address < 256;
    const QByteArray fields = m_buffer.sliced(kSocks4HeaderSize);
    const qsizetype userIdEnd = fields.indexOf('\0');
    if (named && userIdEnd == fields.size() - 1)
        return; // the host name follows
    if (named) {
        const QByteArray name = fields.sliced(userIdEnd + 1, fields.size() - userIdEnd - 2);
        if (name.isEmpty()) {
            fail(QStringLiteral("empty SOCKS4a host name"), reply(Reply::GeneralFailure));
            return;
        }
        m_host = QString::fromLatin1(name);
    } else {
        m_host = QHostAddress(address).toString();
    }
    m_port = portAt(m_buffer, 2);
    m_state = State::Requested;
}

void SocksHandshake::fail(const QString &error, QByteArray output)
{
    m_state = State::Failed;
    m_error = error;
    m_output.append(output);
}

} // namespace wstunnel
