#include "HeadlessRunner.h"

#include "client/TunnelClient.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"

#include <cstdio>

namespace wstunnel {

HeadlessRunner::HeadlessRunner(const HeadlessOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_client(new TunnelClient(options.client, this))
{
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const QString &message) {
                if (state != TunnelClient::State::Failed)
                    return;
                // Besides the log line: the last word, which scripts look for, whatever the
                // logging rules.
                fprintf(stderr, "wstunnel: %s\n", qPrintable(message));
                Q_EMIT finished(1);
            });
    connect(m_client, &TunnelClient::reverseForwardReady, this,
            [](const ForwardSpec &spec, quint16 remotePort) {
                printf("reverse forwarding %s -> %s%s\n",
                       qPrintable(formatEndpoint(spec.bindHost, remotePort)),
                       qPrintable(spec.targetEndpoint()), qPrintable(spec.transportSuffix()));
                fflush(stdout);
            });
    // As a busy local port is for -L: the forward asked for cannot exist, so the run ends.
    connect(m_client, &TunnelClient::reverseForwardFailed, this,
            [this](const ForwardSpec &spec, const QString &reason) {
                fprintf(stderr, "wstunnel: -R %s refused by the remote: %s\n",
                        qPrintable(spec.toString()), qPrintable(reason));
                Q_EMIT finished(1);
            });
}

bool HeadlessRunner::start(QString *error)
{
    // Bind every port before announcing any, so that a script never sees a readiness line from
    // a process about to exit because a later port is busy.
    QStringList readinessLines;
    for (const ForwardSpec &spec : std::as_const(m_options.forwards)) {
        if (spec.direction == ForwardSpec::Direction::Reverse) {
            m_client->addReverseForward(spec);
            continue;
        }
        if (spec.transport == ChannelTransport::Udp) {
            const DatagramListener *listener = m_client->addDatagramForward(spec, error);
            if (!listener)
                return false;
            readinessLines.append(QStringLiteral("forwarding %1 -> %2")
                                      .arg(listener->localEndpoint(), listener->target()));
            continue;
        }
        const ForwardListener *listener = m_client->addLocalForward(spec, error);
        if (!listener)
            return false;
        readinessLines.append(QStringLiteral("forwarding %1 -> %2")
                                  .arg(listener->localEndpoint(), listener->target()));
    }
    for (const QString &line : std::as_const(readinessLines))
        printf("%s\n", qPrintable(line));
    fflush(stdout);
    m_client->start();
    return true;
}

} // namespace wstunnel
