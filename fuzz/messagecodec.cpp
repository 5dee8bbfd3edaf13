// The protocol's message decoder on arbitrary bytes: it must never crash, and whatever it accepts
// must be exactly what the encoder writes for the decoded message, so that no two byte strings
// mean the same message and nothing the decoder reads is lost on the way.
#include "FuzzSupport.h"

#include "protocol/MessageCodec.h"

using namespace wstunnel;

namespace {

QByteArray encode(const Message &m)
{
    switch (m.type) {
    case MessageType::Hello:
        return MessageCodec::hello(m.minVersion, m.maxVersion, m.maxMessageSize, m.text);
    case MessageType::Open:
        return MessageCodec::open(m.channel, m.transport, m.window, m.host, m.port);
    case MessageType::OpenOk:
        return MessageCodec::openOk(m.channel, m.window);
    case MessageType::OpenFailed:
        return MessageCodec::openFailed(m.channel, m.code, m.text);
    case MessageType::Data:
        return MessageCodec::data(m.channel, m.offset, m.payload);
    case MessageType::Credit:
        return MessageCodec::credit(m.channel, m.offset, m.window);
    case MessageType::Fin:
        return MessageCodec::fin(m.channel, m.offset);
    case MessageType::Reset:
        return MessageCodec::reset(m.channel, m.code, m.text);
    case MessageType::GoAway:
        return MessageCodec::goAway(m.code, m.text);
    case MessageType::Listen:
        return MessageCodec::listen(m.channel, m.host, m.port, m.transport);
    case MessageType::ListenOk:
        return MessageCodec::listenOk(m.channel, m.port);
    case MessageType::ListenFailed:
        return MessageCodec::listenFailed(m.channel, m.code, m.text);
    case MessageType::Unlisten:
        return MessageCodec::unlisten(m.channel);
    case MessageType::Capabilities:
        return MessageCodec::capabilities(m.capabilities);
    case MessageType::AgentStatus:
        return MessageCodec::agentStatus(m.agentState, m.host, m.text);
    case MessageType::SessionTicket:
        return MessageCodec::sessionTicket(m.sessionId, m.secret);
    case MessageType::Resume:
        return MessageCodec::resume(m.sessionId, m.secret, m.offset);
    case MessageType::Resumed:
        return MessageCodec::resumed(m.offset);
    case MessageType::ResumeFailed:
        return MessageCodec::resumeFailed(m.code, m.text);
    case MessageType::Ack:
        return MessageCodec::ack(m.offset);
    case MessageType::AgentList:
        return MessageCodec::agentList(m.agents, protocol::kMinMessageSize);
    }
    return QByteArray();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The smallest limit a peer may announce, so that the size check is reached too.
    const QByteArrayView bytes = fuzz::bytesOf(data, size);
    const MessageCodec::DecodeResult result =
        MessageCodec::decode(bytes, protocol::kMinMessageSize);
    fuzz::require(result.message.has_value() != !result.error.isEmpty(),
                  "a decode gives either a message or an error");
    if (!result.message)
        return 0;
    const QByteArray encoded = encode(*result.message);
    // The one optional field: a TCP listen may carry its transport byte or leave it out.
    const bool tcpListenWithTransport =
        result.message->type == MessageType::Listen &&
        bytes == encoded + QByteArray(1, char(ChannelTransport::Tcp));
    fuzz::require(bytes == encoded || tcpListenWithTransport,
                  "an accepted message is encoded back to the same bytes");
    return 0;
}
