#pragma once

#include <QHash>
#include <QObject>
#include <QPair>
#include <QPointer>

namespace wstunnel {

class ForwardListener;
class TunnelSession;

// Answers the listen requests of sessions whose end takes them (a remote's desktops, a hub's
// agent): binds a loopback port for each and carries every connection accepted there back to
// the peer through the asking session. A listener lives as long as its session, or until the
// peer cancels it.
class RemoteListeners : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // Takes the session's listen and unlisten requests from now on, for as long as it lives.
    void serve(TunnelSession *session);

private:
    void onListenRequested(TunnelSession *session, quint32 requestId, const QString &bindHost,
                           quint16 port);
    void onUnlistenRequested(TunnelSession *session, quint32 requestId);

    QHash<QPair<TunnelSession *, quint32>, QPointer<ForwardListener>> m_listeners;
};

} // namespace wstunnel
