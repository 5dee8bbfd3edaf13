#pragma once

#include "MemoryDatagramEndpoint.h"
#include "MemoryEndpoint.h"
#include "session/TargetPolicy.h"

#include <QList>
#include <QPointer>

// Lets a session's peer open channels to MemoryEndpoints (MemoryDatagramEndpoints for UDP): every
// host is allowed but "denied", and every channel's endpoint is kept for the test to play the
// target with.
class MemoryTargetPolicy final : public wstunnel::TargetPolicy
{
public:
    wstunnel::ChannelEndpoint *createEndpoint(wstunnel::ChannelTransport transport) override;
    void resolve(const QString &host, quint16 port, wstunnel::ChannelTransport transport,
                 QObject *context, Callback done) override;

    // The endpoints made so far, in the order the peer opened their channels.
    QList<QPointer<MemoryEndpoint>> endpoints;
    MemoryEndpoint::ConnectOutcome outcome = MemoryEndpoint::ConnectOutcome::Succeed;
    // New endpoints take nothing written to them, like a target that does not read.
    bool stalled = false;
    QList<QPointer<MemoryDatagramEndpoint>> datagramEndpoints;
    // New datagram endpoints drop what is written to them.
    bool dropping = false;
};
