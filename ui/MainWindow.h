#pragma once

#include "TrafficHistory.h"
#include "engine/EngineSnapshot.h"

#include <QMainWindow>

class QAction;
class QFrame;
class QLabel;
class QListWidget;
class QPushButton;
class QTabWidget;
class QTableView;
class QToolButton;

namespace wstunnel {

class ActivityModel;
class ActivityView;
class AppController;
class ChannelTableModel;
class MappingTableModel;
class Sparkline;
class TrayController;

// The mapping editor: remotes on the left, the mapping table with live state and rates, and
// below it the open connections of the selected mapping with a throughput graph, and in a tab
// beside them the activity log.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    // tray may be null when the desktop has no system tray; closing the window then quits.
    MainWindow(AppController *controller, TrayController *tray, QWidget *parent = nullptr);
    ~MainWindow() override;

    QString selectedMappingId() const;
    void selectMapping(const QString &mappingId);
    QString selectedRemoteId() const;

    // Open their dialog without blocking; the result is applied when it is accepted.
    void addMapping();
    void editMapping();
    void addRemote();
    void editRemote();

    void duplicateMapping();
    void deleteMapping();
    void moveMapping(int offset);
    void toggleMapping();
    void deleteRemote();
    void closeSelectedChannel();
    // Asks before trusting the certificate that the remote in question was refused for; only a
    // confirmation stores its fingerprint in the remote, which then reconnects.
    void trustRejectedCertificate();
    // The remote whose refused certificate the trust action is about: the selected remote, or
    // else the remote of the selected mapping; empty when neither was refused for its certificate.
    QString certificateRemoteId() const;

    // What the File menu's import and export do after their file dialogs.
    bool importProfile(const QString &path);
    bool exportProfile(const QString &path);
    // The LocalForward and RemoteForward lines of an OpenSSH config file become mappings of the
    // selected remote (or the first one), switched off; returns how many were added.
    int importSshForwards(const QString &path);
    // Puts the selected mapping's `wstunnel --headless` command line on the clipboard and returns
    // it; empty when there is none (no mapping selected, or the built-in remote).
    QString copyMappingAsCommandLine();

    void showAndRaise();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createMenus();
    QWidget *createRemotesPane();
    QWidget *createMappingsPane();
    QWidget *createConnectionsPane();
    void rebuildRemoteList();
    void onSnapshot(const EngineSnapshot &snapshot);
    void onMappingSelectionChanged();
    void updateActions();
    void updateTrustAction();
    void updateConnections();
    void updateBanner();
    void showProblem(const QString &message);

    AppController *m_controller;
    TrayController *m_tray;
    MappingTableModel *m_mappingModel;
    ChannelTableModel *m_channelModel;
    ActivityModel *m_activityModel;
    TrafficHistory m_history;

    QFrame *m_banner = nullptr;
    QLabel *m_bannerLabel = nullptr;
    QListWidget *m_remoteList = nullptr;
    QTableView *m_mappingView = nullptr;
    QTableView *m_channelView = nullptr;
    QLabel *m_connectionsTitle = nullptr;
    QTabWidget *m_lowerTabs = nullptr;
    ActivityView *m_activityView = nullptr;
    Sparkline *m_sparkline = nullptr;
    QPushButton *m_closeChannelButton = nullptr;
    QLabel *m_statusLabel = nullptr;
    QToolButton *m_trustCertificateButton = nullptr;
    QLabel *m_emptyHint = nullptr;

    QAction *m_addMappingAction = nullptr;
    QAction *m_editMappingAction = nullptr;
    QAction *m_duplicateMappingAction = nullptr;
    QAction *m_deleteMappingAction = nullptr;
    QAction *m_moveUpAction = nullptr;
    QAction *m_moveDownAction = nullptr;
    QAction *m_toggleMappingAction = nullptr;
    QAction *m_startAllAction = nullptr;
    QAction *m_stopAllAction = nullptr;
    QAction *m_addRemoteAction = nullptr;
    QAction *m_editRemoteAction = nullptr;
    QAction *m_deleteRemoteAction = nullptr;
    QAction *m_trustCertificateAction = nullptr;
    QAction *m_importAction = nullptr;
    QAction *m_importSshAction = nullptr;
    QAction *m_copyCommandLineAction = nullptr;
    QAction *m_exportAction = nullptr;
    QAction *m_startMinimisedAction = nullptr;
    QAction *m_startAtLoginAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_aboutAction = nullptr;
};

} // namespace wstunnel
