#pragma once

#include "protocol/ReceiveWindowTuner.h"

#include <QByteArray>
#include <QByteArrayView>
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
    // Datagram channels drop what they cannot send at once. They may fill only part of the
    // link's backlog, so that a flood of datagrams always leaves room for stream channels.
    virtual bool canSendDatagram() const = 0;
    // Largest datagram the peer takes in one data message (at most protocol::kMaxDatagramSize).
    virtual qint64 maxDatagramSize() const = 0;
    // A datagram channel sent, received or dropped a datagram: its idle time starts again, and
    // it becomes the most recently used of the session's flows.
    virtual void datagramActivity(Channel *channel) = 0;
    // While a received message is handled: that message as an array of its own, if part lies
    // within it and the link can give it away (Link::takeReceivedMessage), else null.
    virtual QByteArray takeReceivedMessage(QByteArrayView part) = 0;
    // What the receive-window tuners of the host's stream channels share; nullptr: fixed windows.
    virtual ReceiveWindowTuner::Context *receiveWindowTuning() = 0;
    // The channel is closed; the host releases its id and deletes it later.
    virtual void channelFinished(Channel *channel) = 0;
};

} // namespace wstunnel
