#include "RemoteOptions.h"

#include "server/TunnelServer.h"
#include "util/UnixSignalWatcher.h"

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>

using namespace wstunnel;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wstunnel-remote"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WSTUNNEL_VERSION));

    QString error;
    std::optional<RemoteOptions> options = RemoteOptions::parse(app.arguments(), &error);
    if (!options) {
        fprintf(stderr, "wstunnel-remote: %s\nTry 'wstunnel-remote --help'.\n", qPrintable(error));
        return 2;
    }
    configureLogging(options->verbosity);
    if (options->allowListDefaulted)
        fprintf(stderr, "wstunnel-remote: no --allow given: desktops may reach loopback targets "
                        "only (127.0.0.0/8, [::1], localhost)\n");

    TunnelServer server(options->server, options->tokens, options->allowList);
    if (!server.listen(&error)) {
        fprintf(stderr, "wstunnel-remote: %s\n", qPrintable(error));
        return 1;
    }
    printf("listening on %s\n", qPrintable(server.url()));
    fflush(stdout);

    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app, [&](int) {
        server.shutdown(QStringLiteral("server shutting down"));
        // Give the close frames a moment to leave before the sockets go away.
        QTimer::singleShot(200, &app, &QCoreApplication::quit);
    });
    QObject::connect(
        &signalWatcher, &UnixSignalWatcher::reloadRequested, &server, [&server, &options] {
            if (!options->server.tls.isEnabled()) {
                fprintf(stderr, "wstunnel-remote: SIGHUP: nothing to reload (no --tls-cert)\n");
                return;
            }
            QString reloadError;
            if (server.reloadTls(&reloadError))
                fprintf(stderr, "wstunnel-remote: SIGHUP: reloaded the TLS certificate and key\n");
            else
                fprintf(stderr, "wstunnel-remote: SIGHUP: kept the previous TLS certificate: %s\n",
                        qPrintable(reloadError));
        });
    return app.exec();
}
