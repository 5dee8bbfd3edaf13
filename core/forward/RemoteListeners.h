#pragma once

#include "protocol/Message.h"

#include <QHash>
#include <QObject>
#include <QPair>
#include <QPointer>

namespace wstunnel {

class DatagramListener;
class ForwardListener;
class TunnelSession;

// Answers the listen requests of sessions whose end takes them (a remote's desktops, a hub's
// agent): binds a loopback port for each and carries every connection accepted there (or, for
// UDP, every flow) back to the peer through the asking session. A listener lives as long as its
// session, or until the peer cancels it.
class RemoteListeners : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // Takes the session's listen and unlisten requests from now on, for as long as it lives.
    void serve(TunnelSession *session);

private:
    void onListenRequested(TunnelSession *session, quint32 requestId, const QString &bindHost,
                           quint16 port, ChannelTransport transport);
    void onUnlistenRequested(TunnelSession *session, quint32 requestId);

    QHash<QPair<TunnelSession *, quint32>, QPointer<ForwardListener>> m_listeners;
    QHash<QPair<TunnelSession *, quint32>, QPointer<DatagramListener>> m_datagramListeners;
};

} // namespace wstunnel
