#include "HeadlessOptions.h"
#include "HeadlessRunner.h"

#include "util/UnixSignalWatcher.h"

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <memory>

using namespace wstunnel;

namespace {

int runHeadless(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wstunnel"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WSTUNNEL_VERSION));
    QString error;
    const std::optional<HeadlessOptions> options = HeadlessOptions::parse(app.arguments(), &error);
    if (!options) {
        fprintf(stderr, "wstunnel: %s\nTry 'wstunnel --help'.\n", qPrintable(error));
        return 2;
    }
    if (!options->headless) {
        fprintf(stderr, "wstunnel: this build has no desktop interface; use --headless\n");
        return 2;
    }
    configureLogging(options->verbosity);
    HeadlessRunner runner(*options);
    if (!runner.start(&error)) {
        fprintf(stderr, "wstunnel: %s\n", qPrintable(error));
        return 1;
    }
    QObject::connect(&runner, &HeadlessRunner::finished, &app, &QCoreApplication::exit);
    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app,
                     [&app] { QTimer::singleShot(0, &app, &QCoreApplication::quit); });
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    return runHeadless(argc, argv);
}
