#pragma once

#include "ChannelGroup.h"
#include "config/ForwardSpec.h"

#include <QList>
#include <QObject>
#include <QPointer>

namespace wstunnel {

// A reverse forward (-R) as the desktop sees it: the remote listens on the spec's bind address
// and opens a channel back for every connection it accepts there, which this side connects to
// the spec's target. Records what the remote answered and which channels it carried, as
// ForwardListener does for a local forward. Created and owned by TunnelClient.
class ReverseForward : public QObject, public ChannelGroup
{
    Q_OBJECT

public:
    enum class State {
        Pending,   // no session yet, or the remote has not answered
        Listening, // the remote listens on remoteEndpoint()
        Failed,    // the remote refused; error() says why
    };
    Q_ENUM(State)

    explicit ReverseForward(const ForwardSpec &spec, QObject *parent = nullptr);

    const ForwardSpec &spec() const { return m_spec; }
    State state() const { return m_state; }
    // The port the remote bound (the one it chose for port 0) while listening, else 0.
    quint16 remotePort() const { return m_remotePort; }
    // bindHost:remotePort while listening, else empty.
    QString remoteEndpoint() const;
    QString error() const { return m_error; }

    // Driven by TunnelClient.
    quint32 requestId() const { return m_requestId; }
    void setPending(quint32 requestId);
    void setListening(quint16 remotePort);
    void setFailed(const QString &reason);
    // Counts a channel the remote opened for this forward among its own.
    void track(Channel *channel) { trackChannel(channel, this); }

Q_SIGNALS:
    void ready(quint16 remotePort);
    void failed(const QString &reason);

private:
    ForwardSpec m_spec;
    State m_state = State::Pending;
    quint32 m_requestId = 0;
    quint16 m_remotePort = 0;
    QString m_error;
};

} // namespace wstunnel
