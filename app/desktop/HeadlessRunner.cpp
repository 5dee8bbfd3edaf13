#include "HeadlessRunner.h"

#include "Logging.h"
#include "client/TunnelClient.h"
#include "common/CommandLineErrors.h"
#include "forward/DatagramListener.h"
#include "forward/ForwardListener.h"
#include "forward/StdioForward.h"
#include "net/PipeStream.h"
#include "session/TunnelSession.h"

#include <csignal>
#include <cstdio>
#include <unistd.h>

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
                finish(CommandLineErrors::describe(error));
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
                TunnelError error(TunnelError::Kind::ReverseForwardRefused, spec.bindEndpoint(),
                                  reason);
                error.forward = spec.toString();
                finish(CommandLineErrors::describe(error));
            });
    if (!m_options.agent.isEmpty())
        connect(m_client, &TunnelClient::sessionReady, this, &HeadlessRunner::followAgent);
}

void HeadlessRunner::followAgent(TunnelSession *session)
{
    if (!session->peerCapabilities().testFlag(Capability::Relay)) {
        finish(QStringLiteral("%1 is not a hub (it does not relay to agents): drop --agent, or "
                              "give the hub's URL")
                   .arg(m_options.client.url.toDisplayString()));
        return;
    }
    connect(session, &TunnelSession::agentStatusReceived, this,
            [this](AgentState state, const QString &name, const QString &address) {
                if (state != AgentState::Active) {
                    // Not final: the hub relays again as soon as an agent of the name registers.
                    qCWarning(lcClient).noquote()
                        << QStringLiteral("no agent named %1 is connected to the hub; waiting")
                               .arg(name);
                    return;
                }
                if (address == m_agentAddress || m_stdio)
                    return;
                printf("agent %s is %sserved by %s\n", qPrintable(name),
                       m_agentAddress.isEmpty() ? "" : "now ", qPrintable(address));
                fflush(stdout);
                m_agentAddress = address;
            });
}

void HeadlessRunner::startStdio()
{
    // A reader of standard output that went away is an error of the channel, not a signal.
    signal(SIGPIPE, SIG_IGN);
    m_stdio = new StdioForward(new PipeStream(STDIN_FILENO, STDOUT_FILENO), m_options.stdioHost,
                               m_options.stdioPort, this);
    connect(m_client, &TunnelClient::sessionReady, m_stdio, &StdioForward::setSession);
    // Without a first session nothing was carried yet: better to fail at once than to keep ssh
    // waiting through the backoff.
    connect(m_client, &TunnelClient::stateChanged, this,
            [this](TunnelClient::State state, const TunnelError &error) {
                if (state == TunnelClient::State::Retrying && !m_stdio->isOpen() && error.isError())
                    finish(CommandLineErrors::describe(error));
            });
    connect(m_stdio, &StdioForward::finished, this, [this](const QString &error) {
        if (error.isEmpty())
            Q_EMIT finished(0);
        else
            finish(QStringLiteral("--stdio %1: %2")
                       .arg(formatEndpoint(m_options.stdioHost, m_options.stdioPort), error));
    });
    m_client->start();
}

void HeadlessRunner::finish(const QString &reason)
{
    if (!m_failureReason.isEmpty())
        return;
    m_failureReason = reason;
    Q_EMIT finished(1);
}

bool HeadlessRunner::start(QString *error)
{
    if (m_options.stdio()) {
        startStdio();
        return true;
    }
    // Bind every port before announcing any, so that a script never sees a readiness line from
    // a process about to exit because a later port is busy.
    QStringList readinessLines;
    for (const ForwardSpec &spec : std::as_const(m_options.forwards)) {
        if (spec.direction == ForwardSpec::Direction::Reverse) {
            m_client->addReverseForward(spec);
            continue;
        }
        TunnelError listenError;
        if (spec.transport == ChannelTransport::Udp) {
            const DatagramListener *listener = m_client->addDatagramForward(spec, &listenError);
            if (!listener) {
                *error = CommandLineErrors::describe(listenError);
                return false;
            }
            readinessLines.append(QStringLiteral("forwarding %1 -> %2")
                                      .arg(listener->localEndpoint(), listener->target()));
            continue;
        }
        const ForwardListener *listener = m_client->addLocalForward(spec, &listenError);
        if (!listener) {
            *error = CommandLineErrors::describe(listenError);
            return false;
        }
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
