#pragma once

#include "channel/Channel.h"

#include <QObject>
#include <QPointer>

namespace wstunnel {

class ChannelEndpoint;
class TunnelSession;

// One channel for the life of the process (`wstunnel --stdio HOST:PORT`, an ssh ProxyCommand):
// opened with the first ready session, carrying the endpoint (standard input and output) to
// HOST:PORT on the far side; its end is the process's end.
class StdioForward : public QObject
{
    Q_OBJECT

public:
    // Takes ownership of the endpoint.
    StdioForward(ChannelEndpoint *endpoint, const QString &host, quint16 port,
                 QObject *parent = nullptr);

    void setSession(TunnelSession *session);
    bool isOpen() const { return m_open; }

Q_SIGNALS:
    // error is empty when both directions ended in order.
    void finished(const QString &error);

private:
    ChannelEndpoint *m_endpoint;
    QString m_host;
    quint16 m_port;
    QPointer<Channel> m_channel;
    bool m_open = false;
};

} // namespace wstunnel
