#include "ReverseForward.h"

namespace wstunnel {

ReverseForward::ReverseForward(const ForwardSpec &spec, QObject *parent)
    : QObject(parent)
    , m_spec(spec)
{
}

QString ReverseForward::remoteEndpoint() const
{
    return m_state == State::Listening ? formatEndpoint(m_spec.bindHost, m_remotePort) : QString();
}

QList<TcpChannel *> ReverseForward::channels() const
{
    QList<TcpChannel *> live;
    for (const QPointer<TcpChannel> &channel : m_channels) {
        if (channel && channel->state() != TcpChannel::State::Closed)
            live.append(channel);
    }
    return live;
}

quint64 ReverseForward::bytesIn() const
{
    quint64 total = m_finishedBytesIn;
    for (const TcpChannel *channel : channels())
        total += channel->bytesIn();
    return total;
}

quint64 ReverseForward::bytesOut() const
{
    quint64 total = m_finishedBytesOut;
    for (const TcpChannel *channel : channels())
        total += channel->bytesOut();
    return total;
}

void ReverseForward::closeChannels(const QString &reason)
{
    for (TcpChannel *channel : channels())
        channel->abortChannel(reason);
}

void ReverseForward::setPending(quint32 requestId)
{
    m_state = State::Pending;
    m_requestId = requestId;
    m_remotePort = 0;
    m_error.clear();
}

void ReverseForward::setListening(quint16 remotePort)
{
    m_state = State::Listening;
    m_remotePort = remotePort;
    m_error.clear();
    Q_EMIT ready(remotePort);
}

void ReverseForward::setFailed(const QString &reason)
{
    // The remote forgets a refused request; there is nothing to cancel later.
    m_state = State::Failed;
    m_requestId = 0;
    m_remotePort = 0;
    m_error = reason;
    Q_EMIT failed(reason);
}

void ReverseForward::track(TcpChannel *channel)
{
    m_channels.append(channel);
    connect(channel, &TcpChannel::finished, this, [this](const ChannelSummary &summary) {
        m_finishedBytesIn += summary.bytesIn;
        m_finishedBytesOut += summary.bytesOut;
        m_channels.removeIf([](const QPointer<TcpChannel> &c) {
            return c.isNull() || c->state() == TcpChannel::State::Closed;
        });
    });
}

} // namespace wstunnel
