#include "RemoteListeners.h"

#include "DatagramListener.h"
#include "ForwardListener.h"
#include "Logging.h"
#include "net/HostResolver.h"
#include "session/TunnelSession.h"

namespace wstunnel {

void RemoteListeners::serve(TunnelSession *session)
{
    connect(session, &TunnelSession::listenRequested, this,
            [this, session](quint32 id, const QString &host, quint16 port,
                            ChannelTransport transport) {
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

void RemoteListeners::onListenRequested(TunnelSession *session, quint32 requestId,
                                        const QString &bindHost, quint16 port,
                                        ChannelTransport transport)
{
    QHostAddress address = HostResolver::parseLiteral(bindHost);
    if (bindHost.isEmpty() ||
        bindHost.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        address = QHostAddress(QHostAddress::LocalHost);
    if (address.isNull() || !address.isLoopback()) {
        const QString reason =
            QStringLiteral("reverse forwards may only bind loopback addresses, not '%1'")
                .arg(bindHost);
        qCWarning(lcServer).noquote()
            << QStringLiteral("refused listen from %1: %2").arg(session->peerAddress(), reason);
        session->refuseListen(requestId, FailureCode::NotAllowed, reason);
        return;
    }
    if (transport == ChannelTransport::Udp) {
        listenForDatagrams(session, requestId, bindHost, address, port);
        return;
    }
    auto *listener = new ForwardListener(bindHost, port, session);
    QString error;
    if (!listener->start(address, port, &error)) {
        delete listener;
        qCWarning(lcServer).noquote()
            << QStringLiteral("refused listen from %1: %2").arg(session->peerAddress(), error);
        session->refuseListen(requestId, FailureCode::AddressInUse, error);
        return;
    }
    listener->setTarget(bindHost, listener->serverPort());
    listener->setSession(session);
    m_listeners.insert({session, requestId}, listener);
    qCInfo(lcServer).noquote() << QStringLiteral("reverse forwarding %1 -> %2")
                                      .arg(listener->localEndpoint(), session->peerAddress());
    session->answerListen(requestId, listener->serverPort());
}

// A UDP reverse forward: flows from the port go back to the peer as datagram channels, which it
// takes only if it said so.
void RemoteListeners::listenForDatagrams(TunnelSession *session, quint32 requestId,
                                         const QString &bindHost, const QHostAddress &address,
                                         quint16 port)
{
    if (!session->peerCapabilities().testFlag(Capability::DatagramChannels)) {
        const QString reason = QStringLiteral("the desktop does not take UDP channels");
        qCWarning(lcServer).noquote()
            << QStringLiteral("refused listen from %1: %2").arg(session->peerAddress(), reason);
        session->refuseListen(requestId, FailureCode::NotAllowed, reason);
        return;
    }
    auto *listener = new DatagramListener(bindHost, port, session);
    QString error;
    if (!listener->start(address, port, &error)) {
        delete listener;
        qCWarning(lcServer).noquote()
            << QStringLiteral("refused listen from %1: %2").arg(session->peerAddress(), error);
        session->refuseListen(requestId, FailureCode::AddressInUse, error);
        return;
    }
    listener->setTarget(bindHost, listener->serverPort());
    listener->setSession(session);
    m_datagramListeners.insert({session, requestId}, listener);
    qCInfo(lcServer).noquote() << QStringLiteral("reverse forwarding %1/udp -> %2")
                                      .arg(listener->localEndpoint(), session->peerAddress());
    session->answerListen(requestId, listener->serverPort());
}

void RemoteListeners::onUnlistenRequested(TunnelSession *session, quint32 requestId)
{
    if (DatagramListener *listener = m_datagramListeners.take({session, requestId})) {
        qCInfo(lcServer).noquote()
            << QStringLiteral("reverse forwarding %1/udp -> %2 stopped by the desktop")
                   .arg(listener->localEndpoint(), session->peerAddress());
        listener->close();
        listener->closeChannels(QStringLiteral("reverse forward removed by the desktop"));
        listener->deleteLater();
        return;
    }
    ForwardListener *listener = m_listeners.take({session, requestId});
    if (!listener)
        return;
    qCInfo(lcServer).noquote() << QStringLiteral(
                                      "reverse forwarding %1 -> %2 stopped by the desktop")
                                      .arg(listener->localEndpoint(), session->peerAddress());
    listener->close();
    listener->closeChannels(QStringLiteral("reverse forward removed by the desktop"));
    listener->deleteLater();
}

} // namespace wstunnel
