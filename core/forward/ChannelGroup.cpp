#include "ChannelGroup.h"

namespace wstunnel {

QList<Channel *> ChannelGroup::channels() const
{
    QList<Channel *> live;
    for (const QPointer<Channel> &channel : m_channels) {
        if (channel && channel->state() != Channel::State::Closed)
            live.append(channel);
    }
    return live;
}

quint64 ChannelGroup::bytesIn() const
{
    quint64 total = m_finishedBytesIn;
    for (const Channel *channel : channels())
        total += channel->bytesIn();
    return total;
}

quint64 ChannelGroup::bytesOut() const
{
    quint64 total = m_finishedBytesOut;
    for (const Channel *channel : channels())
        total += channel->bytesOut();
    return total;
}

void ChannelGroup::closeChannels(const QString &reason)
{
    for (Channel *channel : channels())
        channel->abortChannel(reason);
}

void ChannelGroup::trackChannel(Channel *channel, QObject *context,
                                std::function<void(const ChannelSummary &)> onFinished)
{
    m_channels.append(channel);
    QObject::connect(channel, &Channel::finished, context,
                     [this, onFinished = std::move(onFinished)](const ChannelSummary &summary) {
                         m_finishedBytesIn += summary.bytesIn;
                         m_finishedBytesOut += summary.bytesOut;
                         m_channels.removeIf([](const QPointer<Channel> &c) {
                             return c.isNull() || c->state() == Channel::State::Closed;
                         });
                         if (onFinished)
                             onFinished(summary);
                     });
}

} // namespace wstunnel
