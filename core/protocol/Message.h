#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QFlags>
#include <QList>
#include <QString>
#include <QtGlobal>

namespace wstunnel {

// Wire constants of the protocol; docs/PROTOCOL.md is the reference.
namespace protocol {
constexpr quint16 kVersion = 4;
constexpr quint16 kMinVersion = 1;
// From version 2 on, the opener of a channel may send this much data before open-ok, so the
// first bytes of a connection (a request, a TLS ClientHello) travel with the open.
constexpr quint32 kEarlyWindow = 16 * 1024;
constexpr quint16 kEarlyDataVersion = 2;
// From version 3 on, each end says what it accepts in a capabilities message after the hellos.
constexpr quint16 kCapabilitiesVersion = 3;
// From version 4 on, ends that both announce resume may carry a session over a new WebSocket.
constexpr quint16 kResumeVersion = 4;
// A resumable session's ticket: an id that names it and a secret that proves the right to resume.
constexpr int kSessionIdSize = 16;
constexpr int kSessionSecretSize = 32;
constexpr int kMaxHostLength = 255;
constexpr int kMaxReasonLength = 1024;
constexpr int kMaxNameLength = 255;
constexpr int kDataHeaderSize = 1 + 4 + 8;
// Smallest maximum message size a peer may announce in its hello.
constexpr quint32 kMinMessageSize = 16 * 1024;
// Largest UDP payload over IPv4 (65,535 minus the IP and UDP headers): the most one datagram
// channel's data message carries. Larger datagrams (IPv6 only) are dropped, never split.
constexpr int kMaxDatagramSize = 65507;
} // namespace protocol

enum class MessageType : quint8 {
    Hello = 0x01,
    Open = 0x02,
    OpenOk = 0x03,
    OpenFailed = 0x04,
    Data = 0x05,
    Credit = 0x06,
    Fin = 0x07,
    Reset = 0x08,
    GoAway = 0x09,
    Listen = 0x0A,
    ListenOk = 0x0B,
    ListenFailed = 0x0C,
    Unlisten = 0x0D,
    Capabilities = 0x0E,
    AgentStatus = 0x0F,
    SessionTicket = 0x10,
    Resume = 0x11,
    Resumed = 0x12,
    ResumeFailed = 0x13,
    Ack = 0x14,
    AgentList = 0x15,
};

enum class ChannelTransport : quint8 { Tcp = 1, Udp = 2 };

// What an end accepts from its peer, announced in the capabilities message (version 3): an end
// that dialed may still serve. Bits an end does not know are ignored.
enum class Capability : quint32 {
    AcceptsListen = 0x1,    // takes listen requests (reverse forwards)
    DatagramChannels = 0x2, // takes open for UDP channels
    Relay = 0x4,            // a hub: relays channels to agents chosen by name
    Resume = 0x8,           // keeps its sessions across a lost WebSocket (version 4)
};
Q_DECLARE_FLAGS(Capabilities, Capability)
Q_DECLARE_OPERATORS_FOR_FLAGS(Capabilities)

// What a hub says about an agent name: to an agent, its own standing; to a desktop, whether the
// agent it asked for is served, and by which instance.
enum class AgentState : quint8 {
    Absent = 0,  // no agent of that name is connected
    Active = 1,  // the instance that gets the name's channels
    Standby = 2, // registered, takes over when the active one is gone
};

// One connected agent instance in a hub's agent-list.
struct AgentListing
{
    QString name;
    AgentState state = AgentState::Active;
    QString address;
    // How long it has been registered: a duration, so that the clocks of hub and desktop need not
    // agree.
    quint32 connectedSeconds = 0;

    bool operator==(const AgentListing &other) const
    {
        return name == other.name && state == other.state && address == other.address &&
               connectedSeconds == other.connectedSeconds;
    }
};

// Why a channel could not be opened or was reset, or why a session ends.
enum class FailureCode : quint8 {
    Refused = 1,
    Unreachable = 2,
    NotAllowed = 3,
    TimedOut = 4,
    LimitReached = 5,
    ProtocolError = 6,
    IoError = 7,
    Shutdown = 8,
    AddressInUse = 9,
};

QString failureCodeName(FailureCode code);

// One decoded message. Only the fields of its type are meaningful; payload points into the
// buffer that was decoded and is valid only as long as that buffer lives.
struct Message
{
    MessageType type = MessageType::Hello;
    quint32 channel = 0; // every channel message; request id of Listen* and Unlisten
    // Data: stream offset; Credit: consumed offset; Fin: final offset; Resume, Resumed, Ack:
    // messages received
    quint64 offset = 0;
    quint32 window = 0; // Open, OpenOk, Credit: receive window in bytes
    FailureCode code =
        FailureCode::Refused; // OpenFailed, Reset, GoAway, ListenFailed, ResumeFailed
    // Open; Listen (a UDP listen carries it, a TCP one need not)
    ChannelTransport transport = ChannelTransport::Tcp;
    quint16 minVersion = 0;     // Hello
    quint16 maxVersion = 0;     // Hello
    quint32 maxMessageSize = 0; // Hello
    QString host;               // Open: target host; Listen: bind host
    quint16 port = 0;           // Open: target port; Listen: bind port; ListenOk: bound port
    QString text;               // Hello: peer name; OpenFailed/Reset/GoAway/ListenFailed: reason
    quint32 capabilities = 0;   // Capabilities
    QByteArrayView payload;     // Data
    // SessionTicket, Resume; views into the decoded buffer like payload.
    QByteArrayView sessionId;
    QByteArrayView secret;

    // AgentStatus, with the agent's name in host and the serving instance's address in text.
    AgentState agentState = AgentState::Absent;
    QList<AgentListing> agents; // AgentList
};

} // namespace wstunnel
