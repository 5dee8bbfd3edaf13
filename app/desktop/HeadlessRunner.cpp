#include "HeadlessRunner.h"

#include "CommandLineErrors.h"
#include "client/TunnelClient.h"
#include "forward/ForwardListener.h"

#include <cstdio>

namespace wstunnel {

HeadlessRunner::HeadlessRunner(const HeadlessOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_client(new TunnelClient(options.client, this))
{
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const TunnelError &error) {
                if (state != TunnelClient::State::Failed)
                    return;
                // Besides the log line: the last word, which scripts look for, whatever the
                // logging rules, with the advice the log line leaves out.
                fprintf(stderr, "wstunnel: %s\n", qPrintable(CommandLineErrors::describe(error)));
                Q_EMIT finished(1);
            });
    connect(m_client, &TunnelClient::reverseForwardReady, this,
            [](const ForwardSpec &spec, quint16 remotePort) {
                printf("reverse forwarding %s -> %s\n",
                       qPrintable(formatEndpoint(spec.bindHost, remotePort)),
                       qPrintable(spec.targetEndpoint()));
                fflush(stdout);
            });
    // As a busy local port is for -L: the forward asked for cannot exist, so the run ends.
    connect(m_client, &TunnelClient::reverseForwardFailed, this,
            [this](const ForwardSpec &spec, const QString &reason) {
                TunnelError error(TunnelError::Kind::ReverseForwardRefused, spec.bindEndpoint(),
                                  reason);
                error.forward = spec.toString();
                fprintf(stderr, "wstunnel: %s\n", qPrintable(CommandLineErrors::describe(error)));
                Q_EMIT finished(1);
            });
}

bool HeadlessRunner::start(QString *error)
{
    // Bind every port before announcing any, so that a script never sees a readiness line from
    // a process about to exit because a later port is busy.
    QList<ForwardListener *> listeners;
    for (const ForwardSpec &spec : std::as_const(m_options.forwards)) {
        if (spec.direction == ForwardSpec::Direction::Reverse) {
            m_client->addReverseForward(spec);
            continue;
        }
        TunnelError listenError;
        ForwardListener *listener = m_client->addLocalForward(spec, &listenError);
        if (!listener) {
            *error = CommandLineErrors::describe(listenError);
            return false;
        }
        listeners.append(listener);
    }
    for (const ForwardListener *listener : std::as_const(listeners))
        printf("forwarding %s -> %s\n", qPrintable(listener->localEndpoint()),
               qPrintable(listener->target()));
    fflush(stdout);
    m_client->start();
    return true;
}

} // namespace wstunnel
