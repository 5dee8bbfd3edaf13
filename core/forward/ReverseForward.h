#pragma once

#include "config/ForwardSpec.h"
#include "session/TcpChannel.h"

#include <QList>
#include <QObject>
#include <QPointer>

namespace wstunnel {

// A reverse forward (-R) as the desktop sees it: the remote listens on the spec's bind address
// and opens a channel back for every connection it accepts there, which this side connects to
// the spec's target. Records what the remote answered and which channels it carried, as
// ForwardListener does for a local forward. Created and owned by TunnelClient.
class ReverseForward : public QObject
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

    // The channels the remote opened for this forward that are opening or open.
    QList<TcpChannel *> channels() const;
    int openChannels() const { return int(channels().size()); }
    // Bytes of all its channels, finished ones included.
    quint64 bytesIn() const;
    quint64 bytesOut() const;
    // Resets every channel it carries.
    void closeChannels(const QString &reason);

    // Driven by TunnelClient.
    quint32 requestId() const { return m_requestId; }
    void setPending(quint32 requestId);
    void setListening(quint16 remotePort);
    void setFailed(const QString &reason);
    void track(TcpChannel *channel);

Q_SIGNALS:
    void ready(quint16 remotePort);
    void failed(const QString &reason);

private:
    ForwardSpec m_spec;
    State m_state = State::Pending;
    quint32 m_requestId = 0;
    quint16 m_remotePort = 0;
    QString m_error;
    QList<QPointer<TcpChannel>> m_channels;
    quint64 m_finishedBytesIn = 0;
    quint64 m_finishedBytesOut = 0;
};

} // namespace wstunnel
