#pragma once

#include "engine/EngineSnapshot.h"
#include "engine/Profile.h"

#include <QObject>

#include <memory>

class QAction;
class QMenu;
class QSystemTrayIcon;

namespace wstunnel {

class AppController;

// The tray icon and its menu: state at a glance (stopped, connected, traffic, error), start or
// stop everything, switch single mappings, open the window, quit.
class TrayController : public QObject
{
    Q_OBJECT

public:
    enum class TrayState { Stopped, Connected, Traffic, Error };
    Q_ENUM(TrayState)

    explicit TrayController(AppController *controller, QObject *parent = nullptr);
    ~TrayController() override;

    static bool isTrayAvailable();
    static TrayState stateOf(const EngineSnapshot &snapshot, const Profile &profile);
    static QIcon iconFor(TrayState state);

    void show();
    bool isVisible() const;
    TrayState state() const { return m_state; }
    QAction *openAction() const { return m_openAction; }
    QAction *startAllAction() const { return m_startAllAction; }
    QAction *stopAllAction() const { return m_stopAllAction; }
    // The checkable entry of a mapping, or null.
    QAction *mappingAction(const QString &mappingId) const;
    void showMessage(const QString &title, const QString &message);

Q_SIGNALS:
    void openWindowRequested();
    void quitRequested();

private:
    void rebuildMappingActions();
    void onSnapshot(const EngineSnapshot &snapshot);
    void setState(TrayState state, const QString &toolTip);

    AppController *m_controller;
    std::unique_ptr<QMenu> m_menu;
    QSystemTrayIcon *m_trayIcon;
    QAction *m_openAction;
    QAction *m_startAllAction;
    QAction *m_stopAllAction;
    QAction *m_mappingsSeparator;
    QAction *m_quitAction;
    QList<QAction *> m_mappingActions;
    TrayState m_state = TrayState::Stopped;
};

} // namespace wstunnel
