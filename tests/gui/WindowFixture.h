#pragma once

#include "EchoServer.h"
#include "GuiTestEnvironment.h"
#include "engine/FileSecretStore.h"
#include "engine/Profile.h"
#include "ui/AppController.h"
#include "ui/MainWindow.h"
#include "ui/TrayController.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

// The real main window over a fresh profile in a temporary directory, with its built-in remote
// and an echo server on loopback, for the GUI tests of one feature each.
class WindowFixture
{
public:
    // profileJson, when given, is the profile file the app finds at its start.
    bool create(const QByteArray &profileJson = QByteArray())
    {
        m_dir = std::make_unique<QTemporaryDir>();
        if (!profileJson.isEmpty()) {
            QFile profile(m_dir->filePath(QStringLiteral("profile.json")));
            if (!profile.open(QIODevice::WriteOnly) || profile.write(profileJson) < 0)
                return false;
        }
        m_echo = std::make_unique<EchoServer>();
        m_secrets = std::make_unique<wstunnel::FileSecretStore>(
            m_dir->filePath(QStringLiteral("tokens.json")));
        m_controller = std::make_unique<wstunnel::AppController>(
            m_dir->filePath(QStringLiteral("profile.json")), m_secrets.get());
        m_tray = std::make_unique<wstunnel::TrayController>(m_controller.get());
        m_window = std::make_unique<wstunnel::MainWindow>(m_controller.get(), m_tray.get());
        m_controller->load();
        m_window->show();
        return m_echo->isListening() && QTest::qWaitForWindowExposed(m_window.get());
    }

    void destroy()
    {
        m_window.reset();
        m_tray.reset();
        m_controller.reset();
        m_secrets.reset();
        m_echo.reset();
        m_dir.reset();
    }

    // A local mapping on the built-in remote from port to the echo server.
    wstunnel::MappingConfig echoMapping(quint16 port) const
    {
        wstunnel::MappingConfig mapping;
        mapping.id = wstunnel::Profile::newId();
        mapping.name = QStringLiteral("Echo %1").arg(port);
        mapping.remoteId = m_controller->profile().remotes.first().id;
        mapping.bindPort = port;
        mapping.targetHost = QStringLiteral("127.0.0.1");
        mapping.targetPort = m_echo->serverPort();
        return mapping;
    }

    wstunnel::MappingState stateOf(const QString &mappingId) const
    {
        const wstunnel::EngineSnapshot snapshot = m_controller->snapshot();
        const wstunnel::MappingStats *stats = snapshot.mapping(mappingId);
        return stats ? stats->state : wstunnel::MappingState::Off;
    }

    template <typename T> T *find(const QString &objectName) const
    {
        return m_window->findChild<T *>(objectName);
    }

    QString dir(const QString &name) const { return m_dir->filePath(name); }
    EchoServer *echo() const { return m_echo.get(); }
    wstunnel::AppController *controller() const { return m_controller.get(); }
    wstunnel::MainWindow *window() const { return m_window.get(); }

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<EchoServer> m_echo;
    std::unique_ptr<wstunnel::FileSecretStore> m_secrets;
    std::unique_ptr<wstunnel::AppController> m_controller;
    std::unique_ptr<wstunnel::TrayController> m_tray;
    std::unique_ptr<wstunnel::MainWindow> m_window;
};
