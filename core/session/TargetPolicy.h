#pragma once

#include "protocol/Message.h"

#include <QHostAddress>
#include <QList>
#include <QString>

#include <functional>

class QObject;

namespace wstunnel {

class ChannelEndpoint;

struct TargetResolution
{
    QList<QHostAddress> addresses; // empty when refused
    quint16 port = 0;
    FailureCode code = FailureCode::NotAllowed;
    QString reason;
};

// Decides which targets a peer may open channels to, resolves them to addresses, and makes the
// endpoint that carries a channel to its target.
class TargetPolicy
{
public:
    using Callback = std::function<void(const TargetResolution &)>;

    virtual ~TargetPolicy() = default;
    // The endpoint for a new channel of this transport, or nullptr where it is not carried: a TCP
    // stream or a connected UDP socket by default.
    virtual ChannelEndpoint *createEndpoint(ChannelTransport transport);
    // Whether host:port may be reached over transport, and at which addresses. Calls done exactly
    // once, possibly later; not at all once context is destroyed. A TunnelSession passes the
    // Channel being opened as the context.
    virtual void resolve(const QString &host, quint16 port, ChannelTransport transport,
                         QObject *context, Callback done) = 0;
};

} // namespace wstunnel
