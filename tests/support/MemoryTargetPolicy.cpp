#include "MemoryTargetPolicy.h"

using namespace wstunnel;

ChannelEndpoint *MemoryTargetPolicy::createEndpoint(ChannelTransport transport)
{
    if (transport == ChannelTransport::Udp) {
        auto *endpoint = new MemoryDatagramEndpoint;
        endpoint->setConnectPending(outcome == MemoryEndpoint::ConnectOutcome::Never);
        endpoint->setDropping(dropping);
        datagramEndpoints.append(endpoint);
        return endpoint;
    }
    auto *endpoint = new MemoryEndpoint;
    endpoint->setConnectOutcome(outcome);
    endpoint->setStalled(stalled);
    endpoints.append(endpoint);
    return endpoint;
}

void MemoryTargetPolicy::resolve(const QString &host, quint16 port, ChannelTransport, QObject *,
                                 Callback done)
{
    if (host == QLatin1String("denied"))
        done(TargetResolution{
            {}, port, FailureCode::NotAllowed, QStringLiteral("denied is not in the allow-list")});
    else
        done(TargetResolution{
            {QHostAddress(QHostAddress::LocalHost)}, port, FailureCode::Refused, QString()});
}
