#pragma once

#include "Message.h"

#include <optional>

namespace wstunnel {

// Encodes and decodes the binary messages of docs/PROTOCOL.md. Decoding never trusts its input:
// every length is checked against the buffer and the protocol's limits.
class MessageCodec
{
public:
    struct DecodeResult
    {
        std::optional<Message> message;
        QString error; // set when message is empty
    };

    static DecodeResult decode(QByteArrayView bytes, quint32 maxMessageSize);

    static QByteArray hello(quint16 minVersion, quint16 maxVersion, quint32 maxMessageSize,
                            const QString &name);
    static QByteArray open(quint32 channel, ChannelTransport transport, quint32 window,
                           const QString &host, quint16 port);
    static QByteArray openOk(quint32 channel, quint32 window);
    static QByteArray openFailed(quint32 channel, FailureCode code, const QString &reason);
    static QByteArray data(quint32 channel, quint64 offset, QByteArrayView payload);
    // Fills the header of a Data message whose payload already sits after kDataHeaderSize bytes.
    static void writeDataHeader(char *buffer, quint32 channel, quint64 offset);
    static QByteArray credit(quint32 channel, quint64 consumed, quint32 window);
    static QByteArray fin(quint32 channel, quint64 finalOffset);
    static QByteArray reset(quint32 channel, FailureCode code, const QString &reason);
    static QByteArray goAway(FailureCode code, const QString &reason);
    // A UDP listen carries a trailing transport byte, which only peers that announced datagram
    // channels understand; a TCP listen is the same as before.
    static QByteArray listen(quint32 requestId, const QString &bindHost, quint16 port,
                             ChannelTransport transport = ChannelTransport::Tcp);
    static QByteArray listenOk(quint32 requestId, quint16 boundPort);
    static QByteArray listenFailed(quint32 requestId, FailureCode code, const QString &reason);
    static QByteArray unlisten(quint32 requestId);
    static QByteArray capabilities(quint32 flags);
    static QByteArray agentStatus(AgentState state, const QString &name, const QString &address);
    static QByteArray sessionTicket(QByteArrayView sessionId, QByteArrayView secret);
    static QByteArray resume(QByteArrayView sessionId, QByteArrayView secret, quint64 received);
    static QByteArray resumed(quint64 received);
    static QByteArray resumeFailed(FailureCode code, const QString &reason);
    static QByteArray ack(quint64 received);
    // Whether a message of this type counts in the sequence a resume replays (docs/PROTOCOL.md,
    // "Resuming a session"): everything but what belongs to one WebSocket or to resume itself.
    static bool isReplayable(MessageType type);
    // As many of agents as fit into maxMessageSize bytes, in their order.
    static QByteArray agentList(const QList<AgentListing> &agents, quint32 maxMessageSize);
};

} // namespace wstunnel
