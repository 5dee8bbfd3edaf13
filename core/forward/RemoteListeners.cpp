#include "RemoteListeners.h"

#include "DatagramListener.h"
#include "ForwardListener.h"
#include "Logging.h"
#include "net/HostResolver.h"
#include "session/TunnelSession.h"

namespace wstunnel {

void RemoteListeners::serve(TunnelSession *session)
{
    connect(
        session, &TunnelSession::listenRequested, this,
        [this, session](quint32 id, const QString &host, quint16 port, ChannelTransport transport) {
            onListenRequested(session, id, host, port, transport);
        });
    connect(session, &TunnelSession::unlistenRequested, this,
            [this, session](quint32 id) { onUnlistenRequested(session, id); });
    connect(session, &TunnelSession::closed, this, [this, session] {
        m_listeners.removeIf([session](const auto &entry) { return entry.key().first == session; });
        m_datagramListeners.removeIf(
            [session](const auto &entry) { return entry.key().first == session; });
    });
}

namespace {

void refuse(TunnelSession *session, quint32 requestId, FailureCode code, const QString &reason)
{
    qCWarning(lcServer).noquote()
        << QStringLiteral("refused listen from %1: %2").arg(session->peerAddress(), reason);
    session->refuseListen(requestId, code, reason);
}

// Binds a listener of either kind for a listen request and answers it, or refuses it saying why.
template <typename Listener>
Listener *startListener(TunnelSession *session, quint32 requestId, const QString &bindHost,
                        const QHostAddress &address, quint16 port, const QString &suffix)
{
    auto *listener = new Listener(bindHost, port, session);
    QString error;
    if (!listener->start(address, port, &error)) {
        delete listener;
        refuse(session, requestId, FailureCode::AddressInUse, error);
        return nullptr;
    }
    listener->setTarget(bindHost, listener->serverPort());
    listener->setSession(session);
    qCInfo(lcServer).noquote() << QStringLiteral("reverse forwarding %1%2 -> %3")
                                      .arg(listener->localEndpoint(), suffix,
                                           session->peerAddress());
    session->answerListen(requestId, listener->serverPort());
    return listener;
}

template <typename Listener>
void stopListener(Listener *listener, TunnelSession *session, const QString &suffix)
{
    qCInfo(lcServer).noquote() << QStringLiteral("reverse forwarding %1%2 -> %3 stopped by the "
                                                 "desktop")
                                      .arg(listener->localEndpoint(), suffix,
                                           session->peerAddress());
    listener->close();
    listener->closeChannels(QStringLiteral("reverse forward removed by the desktop"));
    listener->deleteLater();
}

} // namespace

void RemoteListeners::onListenRequested(TunnelSession *session, quint32 requestId,
                                        const QString &bindHost, quint16 port,
                                        ChannelTransport transport)
{
    QHostAddress address = HostResolver::parseLiteral(bindHost);
    if (bindHost.isEmpty() ||
        bindHost.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        address = QHostAddress(QHostAddress::LocalHost);
    if (address.isNull() || !address.isLoopback()) {
        refuse(session, requestId, FailureCode::NotAllowed,
               QStringLiteral("reverse forwards may only bind loopback addresses, not '%1'")
                   .arg(bindHost));
        return;
    }
    if (transport == ChannelTransport::Tcp) {
        if (auto *listener = startListener<ForwardListener>(session, requestId, bindHost, address,
                                                            port, QString()))
            m_listeners.insert({session, requestId}, listener);
        return;
    }
    // UDP flows go back to the peer as datagram channels, which it takes only if it said so.
    if (!session->peerCapabilities().testFlag(Capability::DatagramChannels)) {
        refuse(session, requestId, FailureCode::NotAllowed,
               QStringLiteral("the desktop does not take UDP channels"));
        return;
    }
    if (auto *listener = startListener<DatagramListener>(session, requestId, bindHost, address,
                                                         port, QStringLiteral("/udp")))
        m_datagramListeners.insert({session, requestId}, listener);
}

void RemoteListeners::onUnlistenRequested(TunnelSession *session, quint32 requestId)
{
    if (DatagramListener *listener = m_datagramListeners.take({session, requestId}))
        stopListener(listener, session, QStringLiteral("/udp"));
    else if (ForwardListener *listener = m_listeners.take({session, requestId}))
        stopListener(listener, session, QString());
}

} // namespace wstunnel
