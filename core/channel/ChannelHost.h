#pragma once

#include <QByteArray>
#include <QtGlobal>

namespace wstunnel {

class Channel;

// What a channel may ask of the session it belongs to, and nothing more.
class ChannelHost
{
public:
    virtual ~ChannelHost() = default;

    virtual void sendMessage(QByteArray message) = 0;
    // False while the link's backlog is above the watermark (or there is no link): the channel
    // stops reading its endpoint until resumeReading().
    virtual bool canSend() const = 0;
    // Most payload one data message may carry to the peer.
    virtual qint64 maxPayloadSize() const = 0;
    // The channel is closed; the host releases its id and deletes it later.
    virtual void channelFinished(Channel *channel) = 0;
};

} // namespace wstunnel
