#pragma once

#include "channel/Channel.h"

#include <QList>
#include <QPointer>

#include <functional>

namespace wstunnel {

// The channels one forward carries, with the bytes of those already finished, so that a
// forward's totals outlive its connections. A local forward (ForwardListener) and a reverse one
// (ReverseForward) are both such a group.
class ChannelGroup
{
public:
    virtual ~ChannelGroup() = default;

    // The channels that are opening or open.
    QList<Channel *> channels() const;
    int openChannels() const { return int(channels().size()); }
    // Bytes of all its channels, finished ones included.
    quint64 bytesIn() const;
    quint64 bytesOut() const;
    // Resets every channel it carries.
    virtual void closeChannels(const QString &reason);

protected:
    // Counts the channel as one of this group's until it finishes; context is the object the
    // group is part of, and onFinished runs after the totals took the channel's bytes.
    void trackChannel(Channel *channel, QObject *context,
                      std::function<void(const ChannelSummary &)> onFinished = {});

private:
    QList<QPointer<Channel>> m_channels;
    quint64 m_finishedBytesIn = 0;
    quint64 m_finishedBytesOut = 0;
};

} // namespace wstunnel
