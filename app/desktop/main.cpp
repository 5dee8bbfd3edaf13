#include "DesktopSecretStore.h"
#include "HeadlessOptions.h"
#include "HeadlessRunner.h"
#include "ProfileRunner.h"

#include "common/CommandLineErrors.h"
#include "common/HelpOptions.h"
#include "hub/AgentDirectoryQuery.h"
#include "util/DescriptorLimit.h"
#include "util/HeapTuning.h"
#include "util/UnixSignalWatcher.h"

#ifdef WSTUNNEL_WITH_GUI
#include "GuiMain.h"
#endif

#include <QCoreApplication>
#include <QDateTime>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

using namespace wstunnel;

namespace {

void printAgents(const QList<AgentListing> &agents)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const AgentListing &agent : agents) {
        const QString since = now.addSecs(-qint64(agent.connectedSeconds)).toString(Qt::ISODate);
        printf("%s %s %s since %s\n", qPrintable(agent.name),
               agent.state == AgentState::Active ? "active" : "standby", qPrintable(agent.address),
               qPrintable(since));
    }
    if (agents.isEmpty())
        fprintf(stderr, "wstunnel: no agent this token may reach is connected to the hub\n");
    fflush(stdout);
}

// Runs until the end of a headless run; on a non-zero exit code, reason says why. Everything the
// run created is gone on return, so nothing it logs while being torn down follows the reason.
int runHeadlessUntilDone(QCoreApplication &app, QString *reason)
{
    const std::optional<HeadlessOptions> options = HeadlessOptions::parse(app.arguments(), reason);
    if (!options) {
        *reason = HelpOptions::usageError(*reason, QStringLiteral("wstunnel --help"));
        return 2;
    }
    if (!options->headless) {
        *reason = QStringLiteral("this build has no desktop interface; use --headless");
        return 2;
    }
    configureLogging(options->verbosity);
    DescriptorLimit::raiseToHardLimit();
    std::unique_ptr<QObject> runner;
    std::function<QString()> failureReason;
    if (options->listAgents) {
        auto *query = new AgentDirectoryQuery(options->client);
        runner.reset(query);
        auto queryError = std::make_shared<QString>();
        QObject::connect(query, &AgentDirectoryQuery::listed, &app,
                         [](const QList<AgentListing> &agents) {
                             printAgents(agents);
                             QCoreApplication::exit(0);
                         });
        QObject::connect(query, &AgentDirectoryQuery::failed, &app,
                         [queryError](const TunnelError &error) {
                             *queryError = CommandLineErrors::describe(error);
                             QCoreApplication::exit(1);
                         });
        failureReason = [queryError] { return *queryError; };
        // Once the loop runs, so that an answer at once still ends it.
        QTimer::singleShot(0, query, &AgentDirectoryQuery::start);
    } else if (!options->profilePath.isEmpty()) {
        auto *profileRunner = new ProfileRunner;
        runner.reset(profileRunner);
        const std::unique_ptr<SecretStore> secrets = createDesktopSecretStore();
        if (!profileRunner->start(options->profilePath, *secrets, reason))
            return 2;
        QObject::connect(profileRunner, &ProfileRunner::finished, &app, &QCoreApplication::exit);
        failureReason = [profileRunner] { return profileRunner->failureReason(); };
    } else {
        auto *headlessRunner = new HeadlessRunner(*options);
        runner.reset(headlessRunner);
        if (!headlessRunner->start(reason))
            return 1;
        QObject::connect(headlessRunner, &HeadlessRunner::finished, &app, &QCoreApplication::exit);
        failureReason = [headlessRunner] { return headlessRunner->failureReason(); };
    }
    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app,
                     [&app] { QTimer::singleShot(0, &app, &QCoreApplication::quit); });
    const int exitCode = app.exec();
    *reason = failureReason();
    return exitCode;
}

int runHeadless(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wstunnel"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WSTUNNEL_VERSION));
    QString reason;
    const int exitCode = runHeadlessUntilDone(app, &reason);
    // README promises scripts that the last line on stderr of a failed run is its reason.
    if (exitCode != 0)
        fprintf(stderr, "wstunnel: %s\n", qPrintable(reason));
    return exitCode;
}

#ifdef WSTUNNEL_WITH_GUI
// Help, version and --headless need no display: a server without one must still answer them.
bool wantsConsole(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        for (const char *option : {"--headless", "-headless", "--list-agents", "-list-agents",
                                   "--help", "-h", "-?", "--help-all", "--version", "-v"}) {
            if (std::strcmp(argv[i], option) == 0)
                return true;
        }
    }
    return false;
}
#endif

} // namespace

int main(int argc, char *argv[])
{
    HeapTuning::forBulkTransfers();
#ifdef WSTUNNEL_WITH_GUI
    if (!wantsConsole(argc, argv))
        return runGui(argc, argv);
#endif
    return runHeadless(argc, argv);
}
