#pragma once

#include "protocol/Message.h"

#include <QHostAddress>
#include <QList>
#include <QString>

#include <functional>

class QObject;

namespace wstunnel {

struct TargetResolution
{
    QList<QHostAddress> addresses; // empty when refused
    quint16 port = 0;
    FailureCode code = FailureCode::NotAllowed;
    QString reason;
};

// Decides which targets a peer may open channels to, and resolves them to addresses.
class TargetPolicy
{
public:
    using Callback = std::function<void(const TargetResolution &)>;

    virtual ~TargetPolicy() = default;
    // Calls done exactly once, possibly later; not at all once context is destroyed. A
    // TunnelSession passes the Channel being opened as the context.
    virtual void resolve(const QString &host, quint16 port, QObject *context, Callback done) = 0;
};

} // namespace wstunnel
