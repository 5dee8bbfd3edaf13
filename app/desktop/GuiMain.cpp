#include "GuiMain.h"

#include "DesktopSecretStore.h"
#include "HeadlessOptions.h"
#include "common/HelpOptions.h"
#include "engine/ProfileStore.h"
#include "ui/AppController.h"
#include "ui/MainWindow.h"
#include "ui/SingleInstance.h"
#include "ui/TrayController.h"
#include "ui/UiSettings.h"

#include "util/DescriptorLimit.h"
#include "util/UnixSignalWatcher.h"

#include <QApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTimer>
#include <QTranslator>

#include <cstdio>

namespace wstunnel {

namespace {

void installTranslators(QApplication &app)
{
    auto *qtTranslator = new QTranslator(&app);
    if (qtTranslator->load(QLocale(), QStringLiteral("qtbase"), QStringLiteral("_"),
                           QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QApplication::installTranslator(qtTranslator);
    auto *translator = new QTranslator(&app);
    if (translator->load(QLocale(), QStringLiteral("wstunnel"), QStringLiteral("_"),
                         QStringLiteral(":/i18n")))
        QApplication::installTranslator(translator);
}

// Without one, QApplication aborts with Qt's platform-plugin message, which names no way out.
bool hasDisplay()
{
#if defined(Q_OS_UNIX) && !defined(Q_OS_DARWIN)
    for (const char *variable : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}) {
        if (!qEnvironmentVariableIsEmpty(variable))
            return true;
    }
    return false;
#else
    return true;
#endif
}

} // namespace

int runGui(int argc, char *argv[])
{
    // Parsed before QApplication exists, so that a mistyped option is reported as such even
    // where no display can be opened.
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    QString error;
    const std::optional<HeadlessOptions> options = HeadlessOptions::parse(arguments, &error);
    if (!options) {
        fprintf(stderr, "wstunnel: %s\n",
                qPrintable(HelpOptions::usageError(error, QStringLiteral("wstunnel --help"))));
        return 2;
    }
    if (!hasDisplay()) {
        fprintf(stderr, "wstunnel: no display for the mapping editor (DISPLAY and WAYLAND_DISPLAY "
                        "are unset); use --headless --remote URL -L SPEC to run forwards without "
                        "a window\n");
        return 2;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("wstunnel"));
    QApplication::setApplicationDisplayName(QStringLiteral("WSTunnel"));
    QApplication::setApplicationVersion(QStringLiteral(WSTUNNEL_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("wstunnel"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/wstunnel.svg")));

    configureLogging(options->verbosity);
    DescriptorLimit::raiseToHardLimit();

    SingleInstance instance;
    if (!instance.claim())
        return 0;
    installTranslators(app);

    const std::unique_ptr<SecretStore> secrets = createDesktopSecretStore();
    AppController controller(ProfileStore::defaultPath(), secrets.get());
    const bool trayAvailable = TrayController::isTrayAvailable();
    TrayController *tray = trayAvailable ? new TrayController(&controller, &app) : nullptr;
    MainWindow window(&controller, tray);
    controller.load();

    QApplication::setQuitOnLastWindowClosed(!trayAvailable);
    QObject::connect(&instance, &SingleInstance::activationRequested, &window,
                     &MainWindow::showAndRaise);
    if (tray) {
        QObject::connect(tray, &TrayController::openWindowRequested, &window,
                         &MainWindow::showAndRaise);
        QObject::connect(tray, &TrayController::quitRequested, &app, &QApplication::quit);
        tray->show();
    }
    UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &UnixSignalWatcher::terminationRequested, &app,
                     [&app] { QTimer::singleShot(0, &app, &QApplication::quit); });

    const bool minimised = tray && (options->minimized || UiSettings::startMinimised());
    if (!minimised)
        window.show();
    return app.exec();
}

} // namespace wstunnel
