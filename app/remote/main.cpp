#include "AgentOptions.h"
#include "RemoteOptions.h"

#include "agent/AgentConnection.h"
#include "client/TunnelClient.h"
#include "common/CommandLineErrors.h"
#include "common/HelpOptions.h"
#include "forward/ForwardListener.h"
#include "hub/HubServer.h"
#include "metrics/MetricsServer.h"
#include "metrics/TunnelMetrics.h"
#include "server/TunnelServer.h"
#include "session/TunnelSession.h"
#include "util/DescriptorLimit.h"
#include "util/HeapTuning.h"
#include "util/UnixSignalWatcher.h"

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <memory>

using namespace wstunnel;

namespace {

// --metrics: serves what metrics renders; false with error set when the port cannot be bound.
bool serveMetrics(const std::optional<MetricsServer::Endpoint> &endpoint,
                  const TunnelMetrics &metrics, std::unique_ptr<MetricsServer> &server,
                  QString *error)
{
    if (!endpoint)
        return true;
    server = std::make_unique<MetricsServer>([&metrics] { return metrics.render(); });
    return server->start(endpoint->address, endpoint->port, error);
}

void printMetricsLine(const std::unique_ptr<MetricsServer> &server)
{
    if (server)
        printf("metrics on %s\n", qPrintable(server->url()));
}

// serve and hub: accept WebSockets on one port until a termination signal. On a non-zero exit
// code, reason says why; everything the run created is gone on return.
int runServer(QCoreApplication &app, QString *reason)
{
    QString error;
    std::optional<RemoteOptions> options = RemoteOptions::parse(app.arguments(), &error);
    if (!options) {
        *reason = HelpOptions::usageError(error, QStringLiteral("wstunnel-remote --help"));
        return 2;
    }
    configureLogging(options->verbosity);
    DescriptorLimit::raiseToHardLimit();
    if (options->allowListDefaulted)
        fprintf(stderr, "wstunnel-remote: no --allow given: desktops may reach loopback targets "
                        "only (127.0.0.0/8, [::1], localhost)\n");

    std::unique_ptr<TunnelServer> server;
    HubServer *hub = nullptr;
    if (options->role == RemoteOptions::Role::Hub) {
        hub = new HubServer(options->server, options->tokens);
        server.reset(hub);
    } else {
        server =
            std::make_unique<TunnelServer>(options->server, options->tokens, options->allowList);
    }
    if (!server->listen(reason))
        return 1;
    TunnelMetrics metrics;
    QObject::connect(server.get(), &TunnelServer::sessionStarted, &metrics,
                     [&metrics](TunnelSession *session) { metrics.watchSession(session); });
    if (hub)
        metrics.watchAgents(&hub->registry());
    std::unique_ptr<MetricsServer> metricsServer;
    if (!serveMetrics(options->metrics, metrics, metricsServer, reason))
        return 1;
    for (const HubServer::Publication &publication : std::as_const(options->publications)) {
        if (!hub->publish(publication, &error)) {
            *reason = QStringLiteral("--publish: %1").arg(error);
            return 1;
        }
    }
    printf("listening on %s\n", qPrintable(server->url()));
    if (hub) {
        const QList<ForwardListener *> published = hub->publishedPorts();
        for (qsizetype i = 0; i < published.size(); ++i)
            printf("publishing %s -> %s through agent %s\n",
                   qPrintable(published.at(i)->localEndpoint()),
                   qPrintable(published.at(i)->target()),
                   qPrintable(options->publications.at(i).agent));
    }
    printMetricsLine(metricsServer);
    fflush(stdout);

    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app, [&](int) {
        server->shutdown(QStringLiteral("server shutting down"));
        // Give the close frames a moment to leave before the sockets go away.
        QTimer::singleShot(200, &app, &QCoreApplication::quit);
    });
    QObject::connect(
        &signalWatcher, &UnixSignalWatcher::reloadRequested, server.get(), [&server, &options] {
            if (!options->server.tls.isEnabled()) {
                fprintf(stderr, "wstunnel-remote: SIGHUP: nothing to reload (no --tls-cert)\n");
                return;
            }
            QString reloadError;
            if (server->reloadTls(&reloadError))
                fprintf(stderr, "wstunnel-remote: SIGHUP: reloaded the TLS certificate and key\n");
            else
                fprintf(stderr, "wstunnel-remote: SIGHUP: kept the previous TLS certificate: %s\n",
                        qPrintable(reloadError));
        });
    return app.exec();
}

// agent: keep registered with every hub until a termination signal, or until every hub refused
// the agent for good. On a non-zero exit code, reason says why.
int runAgent(QCoreApplication &app, QString *reason)
{
    QString error;
    const std::optional<AgentOptions> options = AgentOptions::parse(app.arguments(), &error);
    if (!options) {
        *reason = HelpOptions::usageError(error, QStringLiteral("wstunnel-remote agent --help"));
        return 2;
    }
    configureLogging(options->verbosity);
    DescriptorLimit::raiseToHardLimit();
    if (options->allowListDefaulted)
        fprintf(stderr, "wstunnel-remote: no --allow given: desktops may reach loopback targets "
                        "only (127.0.0.0/8, [::1], localhost)\n");

    TunnelMetrics metrics;
    std::unique_ptr<MetricsServer> metricsServer;
    if (!serveMetrics(options->metrics, metrics, metricsServer, reason))
        return 1;
    printMetricsLine(metricsServer);
    fflush(stdout);
    QList<AgentConnection *> connections;
    int failed = 0;
    for (const ClientSettings &hub : options->hubs) {
        auto *connection = new AgentConnection(hub, options->name, options->allowList, &app);
        connections.append(connection);
        QObject::connect(connection->client(), &TunnelClient::sessionReady, &metrics,
                         [&metrics](TunnelSession *session) { metrics.watchSession(session); });
        const QString url = hub.url.toDisplayString();
        QObject::connect(connection, &AgentConnection::registered, &app,
                         [url, name = options->name](AgentState state) {
                             printf("registered with %s as %s (%s)\n", qPrintable(url),
                                    qPrintable(name),
                                    state == AgentState::Active ? "active" : "standby");
                             fflush(stdout);
                         });
        QObject::connect(connection, &AgentConnection::promoted, &app, [name = options->name] {
            printf("%s is now active\n", qPrintable(name));
            fflush(stdout);
        });
        QObject::connect(connection, &AgentConnection::failed, &app,
                         [&app, &failed, &connections, reason](const TunnelError &error) {
                             const QString message = CommandLineErrors::describe(error);
                             if (++failed < connections.size()) {
                                 fprintf(stderr, "wstunnel-remote: %s\n", qPrintable(message));
                                 return;
                             }
                             // The last refusal is the reason for the exit, reported last.
                             *reason = message;
                             // Queued: a refusal may come while the event loop is not running
                             // yet.
                             QMetaObject::invokeMethod(
                                 &app, [&app] { app.exit(1); }, Qt::QueuedConnection);
                         });
    }
    for (AgentConnection *connection : std::as_const(connections))
        connection->start();

    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app,
                     [&app, &connections](int) {
                         for (AgentConnection *connection : std::as_const(connections))
                             connection->stop();
                         QTimer::singleShot(200, &app, &QCoreApplication::quit);
                     });
    const int exitCode = app.exec();
    qDeleteAll(connections);
    return exitCode;
}

} // namespace

int main(int argc, char *argv[])
{
    HeapTuning::forBulkTransfers();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wstunnel-remote"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WSTUNNEL_VERSION));
    QString reason;
    // The agent role has options of its own, so it is told apart before any parsing.
    const int exitCode = app.arguments().value(1) == QLatin1String("agent")
                             ? runAgent(app, &reason)
                             : runServer(app, &reason);
    // README promises scripts that the last line on stderr of a failed run is its reason.
    if (exitCode != 0)
        fprintf(stderr, "wstunnel-remote: %s\n", qPrintable(reason));
    return exitCode;
}
