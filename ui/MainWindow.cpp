#include "MainWindow.h"

#include "ActivityModel.h"
#include "ActivityView.h"
#include "AppController.h"
#include "Autostart.h"
#include "ChannelTableModel.h"
#include "ErrorMessages.h"
#include "Formatting.h"
#include "MappingDialog.h"
#include "MappingTableModel.h"
#include "RemoteDialog.h"
#include "Sparkline.h"
#include "TrayController.h"
#include "UiSettings.h"
#include "config/SshConfigForwards.h"
#include "engine/CommandLineExport.h"
#include "engine/TunnelEngine.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDateTime>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace wstunnel {

namespace {

constexpr int kRemoteIdRole = Qt::UserRole + 1;

} // namespace

MainWindow::MainWindow(AppController *controller, TrayController *tray, QWidget *parent)
    : QMainWindow(parent)
    , m_controller(controller)
    , m_tray(tray)
    , m_mappingModel(new MappingTableModel(controller, this))
    , m_channelModel(new ChannelTableModel(this))
    , m_activityModel(new ActivityModel(controller, this))
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("WSTunnel"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/wstunnel.svg")));

    createActions();
    createMenus();

    m_banner = new QFrame(this);
    m_banner->setObjectName(QStringLiteral("profileBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setAutoFillBackground(true);
    QPalette bannerPalette = m_banner->palette();
    bannerPalette.setColor(QPalette::Window, QColor(0xff, 0xf0, 0xc8));
    bannerPalette.setColor(QPalette::WindowText, QColor(0x40, 0x30, 0x00));
    m_banner->setPalette(bannerPalette);
    m_bannerLabel = new QLabel(m_banner);
    m_bannerLabel->setWordWrap(true);
    auto *setAside = new QPushButton(tr("Start a New Profile"), m_banner);
    setAside->setObjectName(QStringLiteral("startNewProfileButton"));
    setAside->setToolTip(tr("Keeps the unreadable file under a new name and saves from now on"));
    connect(setAside, &QPushButton::clicked, this, [this] {
        QString error;
        if (!m_controller->setAsideUnreadableProfile(&error))
            showProblem(error);
        updateBanner();
    });
    auto *bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->addWidget(m_bannerLabel, 1);
    bannerLayout->addWidget(setAside);

    auto *rightSplitter = new QSplitter(Qt::Vertical, this);
    rightSplitter->addWidget(createMappingsPane());
    // The activity log shares the lower pane with the connections, so that the window keeps its
    // size; a failure shows in its mapping's row, the log has its story.
    m_lowerTabs = new QTabWidget(this);
    m_lowerTabs->setObjectName(QStringLiteral("lowerTabs"));
    m_lowerTabs->setDocumentMode(true);
    m_lowerTabs->addTab(createConnectionsPane(), tr("Connections"));
    m_activityView = new ActivityView(m_activityModel, this);
    m_lowerTabs->addTab(m_activityView, tr("Activity"));
    rightSplitter->addWidget(m_lowerTabs);
    rightSplitter->setStretchFactor(0, 3);
    rightSplitter->setStretchFactor(1, 2);
    rightSplitter->setChildrenCollapsible(false);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(createRemotesPane());
    splitter->addWidget(rightSplitter);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({200, 1080});
    splitter->setChildrenCollapsible(false);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->addWidget(m_banner);
    layout->addWidget(splitter, 1);
    setCentralWidget(central);

    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    statusBar()->addWidget(m_statusLabel, 1);
    // Next to the problem it solves, and only while there is a refused certificate to trust.
    m_trustCertificateButton = new QToolButton(this);
    m_trustCertificateButton->setObjectName(QStringLiteral("trustCertificateButton"));
    m_trustCertificateButton->setDefaultAction(m_trustCertificateAction);
    m_trustCertificateButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_trustCertificateButton->setVisible(false);
    statusBar()->addPermanentWidget(m_trustCertificateButton);

    setTabOrder(m_remoteList, m_mappingView);
    setTabOrder(m_mappingView, m_channelView);
    setTabOrder(m_channelView, m_closeChannelButton);

    connect(controller, &AppController::profileChanged, this, [this] {
        const QString selected = selectedMappingId();
        rebuildRemoteList();
        // Something is always selected, so that the keyboard and the connections view have a
        // mapping to work on.
        if (!selected.isEmpty() && m_mappingModel->rowOf(selected) >= 0)
            selectMapping(selected);
        else if (m_mappingModel->rowCount() > 0)
            selectMapping(m_mappingModel->mappingIdAt(0));
        updateActions();
        updateBanner();
        updateConnections();
    });
    connect(controller, &AppController::snapshotUpdated, this, &MainWindow::onSnapshot);
    connect(controller, &AppController::problem, this, &MainWindow::showProblem);

    rebuildRemoteList();
    updateActions();
    updateBanner();
    if (!restoreGeometry(UiSettings::windowGeometry()))
        resize(1260, 700);
    m_mappingView->setFocus();
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions()
{
    auto action = [this](const QString &text, const QString &iconName, const QKeySequence &key,
                         const QString &objectName) {
        // The desktop's icon theme where there is one, our own icons elsewhere.
        const QString fallback = QStringLiteral(":/icons/%1.svg").arg(iconName);
        auto *a = new QAction(
            QIcon::fromTheme(iconName, QFile::exists(fallback) ? QIcon(fallback) : QIcon()), text,
            this);
        a->setObjectName(objectName);
        if (!key.isEmpty())
            a->setShortcut(key);
        return a;
    };
    m_addMappingAction = action(tr("&Add Mapping…"), QStringLiteral("list-add"), QKeySequence::New,
                                QStringLiteral("addMappingAction"));
    m_editMappingAction = action(tr("&Edit Mapping…"), QStringLiteral("document-edit"),
                                 QKeySequence(Qt::Key_F2), QStringLiteral("editMappingAction"));
    m_duplicateMappingAction =
        action(tr("D&uplicate Mapping"), QStringLiteral("edit-copy"),
               QKeySequence(Qt::CTRL | Qt::Key_D), QStringLiteral("duplicateMappingAction"));
    m_deleteMappingAction = action(tr("&Delete Mapping"), QStringLiteral("list-remove"),
                                   QKeySequence::Delete, QStringLiteral("deleteMappingAction"));
    m_moveUpAction = action(tr("Move &Up"), QStringLiteral("go-up"),
                            QKeySequence(Qt::CTRL | Qt::Key_Up), QStringLiteral("moveUpAction"));
    m_moveDownAction =
        action(tr("Move Do&wn"), QStringLiteral("go-down"), QKeySequence(Qt::CTRL | Qt::Key_Down),
               QStringLiteral("moveDownAction"));
    m_toggleMappingAction =
        action(tr("Switch &On/Off"), QString(), QKeySequence(Qt::CTRL | Qt::Key_T),
               QStringLiteral("toggleMappingAction"));
    m_startAllAction =
        action(tr("&Start All"), QStringLiteral("media-playback-start"),
               QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), QStringLiteral("startAllAction"));
    m_stopAllAction =
        action(tr("S&top All"), QStringLiteral("media-playback-stop"),
               QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X), QStringLiteral("stopAllAction"));
    m_addRemoteAction =
        action(tr("Add &Remote…"), QStringLiteral("list-add"),
               QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), QStringLiteral("addRemoteAction"));
    m_editRemoteAction = action(tr("Edit Re&mote…"), QStringLiteral("document-edit"),
                                QKeySequence(), QStringLiteral("editRemoteAction"));
    m_deleteRemoteAction = action(tr("Delete Rem&ote"), QStringLiteral("list-remove"),
                                  QKeySequence(), QStringLiteral("deleteRemoteAction"));
    m_trustCertificateAction =
        action(tr("&Trust This Certificate…"), QStringLiteral("security-medium"), QKeySequence(),
               QStringLiteral("trustCertificateAction"));
    m_trustCertificateAction->setToolTip(
        tr("Shows the certificate the remote was refused for and asks whether to trust it"));
    m_importAction = action(tr("&Import Profile…"), QStringLiteral("document-open"),
                            QKeySequence::Open, QStringLiteral("importAction"));
    m_importSshAction = action(tr("Import &OpenSSH Forwards…"), QStringLiteral("document-open"),
                               QKeySequence(), QStringLiteral("importSshAction"));
    m_importSshAction->setToolTip(
        tr("Adds the LocalForward and RemoteForward lines of an OpenSSH config file as mappings"));
    m_copyCommandLineAction = action(tr("Copy as Command &Line"), QStringLiteral("edit-copy"),
                                     QKeySequence(), QStringLiteral("copyCommandLineAction"));
    m_copyCommandLineAction->setToolTip(
        tr("Copies the wstunnel --headless command that runs this mapping without the app"));
    m_exportAction = action(tr("&Export Profile…"), QStringLiteral("document-save-as"),
                            QKeySequence::SaveAs, QStringLiteral("exportAction"));
    m_startMinimisedAction = action(tr("Start &Minimised to the Tray"), QString(), QKeySequence(),
                                    QStringLiteral("startMinimisedAction"));
    m_startAtLoginAction = action(tr("Start at &Login"), QString(), QKeySequence(),
                                  QStringLiteral("startAtLoginAction"));
    m_quitAction = action(tr("&Quit"), QStringLiteral("application-exit"), QKeySequence::Quit,
                          QStringLiteral("quitAction"));
    m_aboutAction = action(tr("&About WSTunnel"), QStringLiteral("help-about"), QKeySequence(),
                           QStringLiteral("aboutAction"));

    m_startMinimisedAction->setCheckable(true);
    m_startMinimisedAction->setChecked(UiSettings::startMinimised());
    m_startMinimisedAction->setEnabled(m_tray != nullptr);
    m_startAtLoginAction->setCheckable(true);
    m_startAtLoginAction->setChecked(Autostart::isEnabled());

    connect(m_addMappingAction, &QAction::triggered, this, &MainWindow::addMapping);
    connect(m_editMappingAction, &QAction::triggered, this, &MainWindow::editMapping);
    connect(m_duplicateMappingAction, &QAction::triggered, this, &MainWindow::duplicateMapping);
    connect(m_deleteMappingAction, &QAction::triggered, this, &MainWindow::deleteMapping);
    connect(m_moveUpAction, &QAction::triggered, this, [this] { moveMapping(-1); });
    connect(m_moveDownAction, &QAction::triggered, this, [this] { moveMapping(1); });
    connect(m_toggleMappingAction, &QAction::triggered, this, &MainWindow::toggleMapping);
    connect(m_startAllAction, &QAction::triggered, this,
            [this] { m_controller->setAllEnabled(true); });
    connect(m_stopAllAction, &QAction::triggered, this,
            [this] { m_controller->setAllEnabled(false); });
    connect(m_addRemoteAction, &QAction::triggered, this, &MainWindow::addRemote);
    connect(m_editRemoteAction, &QAction::triggered, this, &MainWindow::editRemote);
    connect(m_deleteRemoteAction, &QAction::triggered, this, &MainWindow::deleteRemote);
    connect(m_trustCertificateAction, &QAction::triggered, this,
            &MainWindow::trustRejectedCertificate);
    connect(m_importAction, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Import Profile"), QString(),
                                                          tr("WSTunnel profiles (*.json)"));
        if (!path.isEmpty())
            importProfile(path);
    });
    connect(m_importSshAction, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Import OpenSSH Forwards"), QDir::homePath() + QStringLiteral("/.ssh/config"),
            tr("OpenSSH config (config *.conf);;All files (*)"));
        if (!path.isEmpty())
            importSshForwards(path);
    });
    connect(m_copyCommandLineAction, &QAction::triggered, this,
            &MainWindow::copyMappingAsCommandLine);
    connect(m_exportAction, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export Profile"),
                                                          QStringLiteral("wstunnel-profile.json"),
                                                          tr("WSTunnel profiles (*.json)"));
        if (!path.isEmpty())
            exportProfile(path);
    });
    connect(m_startMinimisedAction, &QAction::toggled, this, &UiSettings::setStartMinimised);
    connect(m_startAtLoginAction, &QAction::toggled, this, [this](bool enabled) {
        QString error;
        if (!Autostart::setEnabled(enabled, &error)) {
            showProblem(error);
            const QSignalBlocker blocker(m_startAtLoginAction);
            m_startAtLoginAction->setChecked(!enabled);
        }
    });
    connect(m_quitAction, &QAction::triggered, qApp, &QApplication::quit);
    connect(m_aboutAction, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About WSTunnel"),
                           tr("<h3>WSTunnel %1</h3><p>TCP port mappings carried over one "
                              "WebSocket, through HTTP proxies and firewalls.</p>")
                               .arg(QStringLiteral(WSTUNNEL_VERSION)));
    });
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_importAction);
    file->addAction(m_exportAction);
    file->addSeparator();
    file->addAction(m_importSshAction);
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu *mappings = menuBar()->addMenu(tr("&Mappings"));
    mappings->addAction(m_addMappingAction);
    mappings->addAction(m_editMappingAction);
    mappings->addAction(m_duplicateMappingAction);
    mappings->addAction(m_deleteMappingAction);
    mappings->addAction(m_copyCommandLineAction);
    mappings->addSeparator();
    mappings->addAction(m_moveUpAction);
    mappings->addAction(m_moveDownAction);
    mappings->addSeparator();
    mappings->addAction(m_toggleMappingAction);
    mappings->addAction(m_startAllAction);
    mappings->addAction(m_stopAllAction);

    QMenu *remotes = menuBar()->addMenu(tr("&Remotes"));
    remotes->addAction(m_addRemoteAction);
    remotes->addAction(m_editRemoteAction);
    remotes->addAction(m_deleteRemoteAction);
    remotes->addSeparator();
    remotes->addAction(m_trustCertificateAction);

    QMenu *settings = menuBar()->addMenu(tr("&Settings"));
    settings->addAction(m_startMinimisedAction);
    settings->addAction(m_startAtLoginAction);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_aboutAction);
}

QWidget *MainWindow::createRemotesPane()
{
    auto *pane = new QWidget(this);
    auto *title = new QLabel(tr("<b>Remotes</b>"), pane);
    m_remoteList = new QListWidget(pane);
    m_remoteList->setObjectName(QStringLiteral("remoteList"));
    m_remoteList->setAccessibleName(tr("Remotes"));
    title->setBuddy(m_remoteList);
    connect(m_remoteList, &QListWidget::itemSelectionChanged, this, &MainWindow::updateActions);
    connect(m_remoteList, &QListWidget::itemActivated, this, &MainWindow::editRemote);
    m_remoteList->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_remoteList->addActions({m_editRemoteAction, m_deleteRemoteAction, m_trustCertificateAction});

    auto *buttons = new QHBoxLayout;
    buttons->setSpacing(2);
    for (QAction *action : {m_addRemoteAction, m_editRemoteAction, m_deleteRemoteAction}) {
        auto *button = new QToolButton(pane);
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonIconOnly);
        button->setAutoRaise(true);
        buttons->addWidget(button);
    }
    buttons->addStretch(1);

    pane->setMinimumWidth(170);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(title);
    layout->addWidget(m_remoteList, 1);
    layout->addLayout(buttons);
    return pane;
}

QWidget *MainWindow::createMappingsPane()
{
    auto *pane = new QWidget(this);
    auto *title = new QLabel(tr("<b>Mappings</b>") + QStringLiteral("  "), pane);
    m_mappingView = new QTableView(pane);
    m_mappingView->setObjectName(QStringLiteral("mappingView"));
    m_mappingView->setAccessibleName(tr("Mappings"));
    m_mappingView->setModel(m_mappingModel);
    m_mappingView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_mappingView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_mappingView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_mappingView->setAlternatingRowColors(true);
    m_mappingView->setTabKeyNavigation(false);
    m_mappingView->verticalHeader()->hide();
    m_mappingView->horizontalHeader()->setStretchLastSection(false);
    // The target takes what is left: a name squeezed to nothing says less than an elided host.
    m_mappingView->horizontalHeader()->setSectionResizeMode(MappingTableModel::TargetColumn,
                                                            QHeaderView::Stretch);
    m_mappingView->setColumnWidth(MappingTableModel::NameColumn, 130);
    m_mappingView->horizontalHeader()->setSectionResizeMode(MappingTableModel::EnabledColumn,
                                                            QHeaderView::ResizeToContents);
    for (int column : {int(MappingTableModel::RateInColumn), int(MappingTableModel::RateOutColumn)})
        m_mappingView->setColumnWidth(column, 72);
    m_mappingView->setColumnWidth(MappingTableModel::ListenColumn, 115);
    m_mappingView->setColumnWidth(MappingTableModel::DirectionColumn, 65);
    m_mappingView->setColumnWidth(MappingTableModel::ProtocolColumn, 55);
    m_mappingView->setColumnWidth(MappingTableModel::RemoteColumn, 100);
    m_mappingView->setColumnWidth(MappingTableModel::StateColumn, 105);
    m_mappingView->setColumnWidth(MappingTableModel::TotalColumn, 120);
    m_mappingView->setColumnWidth(MappingTableModel::ConnectionsColumn, 80);
    m_mappingView->horizontalHeader()->setMinimumSectionSize(28);
    // The widths above fit English; a longer translation widens a column rather than cutting its
    // title off.
    for (int column = 0; column < m_mappingModel->columnCount(); ++column) {
        if (column != MappingTableModel::TargetColumn)
            m_mappingView->setColumnWidth(
                column, std::max(m_mappingView->columnWidth(column),
                                 m_mappingView->horizontalHeader()->sectionSizeHint(column)));
    }
    m_mappingView->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_mappingView->addActions({m_editMappingAction, m_duplicateMappingAction, m_deleteMappingAction,
                               m_toggleMappingAction, m_copyCommandLineAction,
                               m_trustCertificateAction});
    title->setBuddy(m_mappingView);
    // Space switches the selected mapping, as it would tick its check box.
    auto *spaceToggle = new QAction(m_mappingView);
    spaceToggle->setShortcut(QKeySequence(Qt::Key_Space));
    spaceToggle->setShortcutContext(Qt::WidgetShortcut);
    m_mappingView->addAction(spaceToggle);
    connect(spaceToggle, &QAction::triggered, this, &MainWindow::toggleMapping);
    connect(m_mappingView, &QTableView::activated, this, [this](const QModelIndex &index) {
        if (index.column() != MappingTableModel::EnabledColumn)
            editMapping();
    });
    connect(m_mappingView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::onMappingSelectionChanged);
    connect(m_mappingModel, &QAbstractItemModel::modelReset, this,
            &MainWindow::onMappingSelectionChanged);

    // A tool bar, so that buttons that do not fit (long translations) move into its overflow menu.
    auto *toolbar = new QToolBar(pane);
    toolbar->setObjectName(QStringLiteral("mappingToolBar"));
    toolbar->setIconSize(QSize(16, 16));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addWidget(title);
    // Short words beside the icons, so that the tool bar fits in German at the default width
    // with nothing in its overflow; the menus and tooltips keep the full names.
    const QList<QPair<QAction *, QString>> shortTexts = {
        {m_addMappingAction, tr("Add")},
        {m_editMappingAction, tr("Edit")},
        {m_duplicateMappingAction, tr("Duplicate")},
        {m_deleteMappingAction, tr("Delete")},
        {m_startAllAction, tr("Start All")},
        {m_stopAllAction, tr("Stop All")}};
    for (const auto &[action, text] : shortTexts) {
        action->setToolTip(
            QString(action->text()).remove(QLatin1Char('&')).remove(QChar(0x2026)).trimmed());
        action->setIconText(text);
    }
    toolbar->addActions({m_addMappingAction, m_editMappingAction, m_duplicateMappingAction,
                         m_deleteMappingAction, m_moveUpAction, m_moveDownAction});
    for (QAction *action : {m_moveUpAction, m_moveDownAction}) {
        if (auto *button = qobject_cast<QToolButton *>(toolbar->widgetForAction(action)))
            button->setToolButtonStyle(Qt::ToolButtonIconOnly);
    }
    auto *spacer = new QWidget(toolbar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    toolbar->addWidget(spacer);
    toolbar->addActions({m_startAllAction, m_stopAllAction});

    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(toolbar);
    layout->addWidget(m_mappingView, 1);

    // A first run shows where to begin instead of an empty table.
    m_emptyHint = new QLabel(
        tr("No mappings yet. Choose <b>Add Mapping</b> (Ctrl+N) and pick the remote "
           "<b>This computer</b> to try one right away, without any server: for example listen "
           "on 18080 and target a web server running here on localhost:8080."),
        m_mappingView->viewport());
    m_emptyHint->setObjectName(QStringLiteral("emptyHint"));
    m_emptyHint->setWordWrap(true);
    m_emptyHint->setAlignment(Qt::AlignCenter);
    m_emptyHint->setMargin(24);
    m_emptyHint->setForegroundRole(QPalette::PlaceholderText);
    auto *hintLayout = new QVBoxLayout(m_mappingView->viewport());
    hintLayout->addWidget(m_emptyHint);
    return pane;
}

QWidget *MainWindow::createConnectionsPane()
{
    auto *pane = new QWidget(this);
    m_connectionsTitle = new QLabel(pane);
    m_connectionsTitle->setObjectName(QStringLiteral("connectionsTitle"));
    m_channelView = new QTableView(pane);
    m_channelView->setObjectName(QStringLiteral("channelView"));
    m_channelView->setAccessibleName(tr("Open connections"));
    m_channelView->setModel(m_channelModel);
    m_channelView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_channelView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_channelView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_channelView->setTabKeyNavigation(false);
    m_channelView->verticalHeader()->hide();
    m_channelView->horizontalHeader()->setStretchLastSection(true);
    m_channelView->setColumnWidth(ChannelTableModel::ClientColumn, 160);
    m_channelView->setColumnWidth(ChannelTableModel::TargetColumn, 160);
    m_connectionsTitle->setBuddy(m_channelView);
    connect(m_channelView->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateActions();
        updateConnections();
    });

    m_closeChannelButton = new QPushButton(QIcon(QStringLiteral(":/icons/network-disconnect.svg")),
                                           tr("&Close Connection"), pane);
    m_closeChannelButton->setObjectName(QStringLiteral("closeChannelButton"));
    m_closeChannelButton->setToolTip(tr("Resets the selected connection at both ends"));
    connect(m_closeChannelButton, &QPushButton::clicked, this, &MainWindow::closeSelectedChannel);

    m_sparkline = new Sparkline(pane);
    m_sparkline->setToolTip(Formatting::rateInExplained() + QLatin1Char('\n') +
                            Formatting::rateOutExplained());
    m_sparkline->setObjectName(QStringLiteral("sparkline"));

    auto *header = new QHBoxLayout;
    header->addWidget(m_connectionsTitle, 1);
    header->addWidget(m_closeChannelButton);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(header);
    layout->addWidget(m_channelView, 1);
    layout->addWidget(m_sparkline);
    return pane;
}

QString MainWindow::selectedMappingId() const
{
    const QModelIndexList rows = m_mappingView->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : m_mappingModel->mappingIdAt(rows.first().row());
}

void MainWindow::selectMapping(const QString &mappingId)
{
    const int row = m_mappingModel->rowOf(mappingId);
    if (row < 0)
        return;
    m_mappingView->selectRow(row);
    m_mappingView->setCurrentIndex(m_mappingModel->index(row, MappingTableModel::NameColumn));
}

QString MainWindow::selectedRemoteId() const
{
    const QList<QListWidgetItem *> items = m_remoteList->selectedItems();
    return items.isEmpty() ? QString() : items.first()->data(kRemoteIdRole).toString();
}

void MainWindow::addMapping()
{
    MappingConfig mapping;
    mapping.id = Profile::newId();
    const QString remoteId = selectedRemoteId();
    const Profile &profile = m_controller->profile();
    mapping.remoteId = !remoteId.isEmpty()         ? remoteId
                       : profile.remotes.isEmpty() ? QString()
                                                   : profile.remotes.first().id;
    auto *dialog = new MappingDialog(profile, mapping, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const MappingConfig result = dialog->mapping();
        m_controller->setMapping(result);
        selectMapping(result.id);
    });
    dialog->open();
}

void MainWindow::editMapping()
{
    const int index = m_controller->profile().mappingIndex(selectedMappingId());
    if (index < 0)
        return;
    auto *dialog = new MappingDialog(m_controller->profile(),
                                     m_controller->profile().mappings.at(index), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { m_controller->setMapping(dialog->mapping()); });
    dialog->open();
}

void MainWindow::addRemote()
{
    RemoteConfig remote;
    remote.id = Profile::newId();
    auto *dialog = new RemoteDialog(remote, QByteArray(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { m_controller->setRemote(dialog->remote(), dialog->token()); });
    dialog->open();
}

void MainWindow::editRemote()
{
    const int index = m_controller->profile().remoteIndex(selectedRemoteId());
    if (index < 0)
        return;
    const RemoteConfig &remote = m_controller->profile().remotes.at(index);
    auto *dialog = new RemoteDialog(remote, m_controller->token(remote.id), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { m_controller->setRemote(dialog->remote(), dialog->token()); });
    dialog->open();
}

void MainWindow::duplicateMapping()
{
    const Profile &profile = m_controller->profile();
    const int index = profile.mappingIndex(selectedMappingId());
    if (index < 0)
        return;
    MappingConfig copy = profile.mappings.at(index);
    copy.id = Profile::newId();
    copy.name = tr("%1 (copy)").arg(copy.name);
    // Two mappings cannot listen on one port; the copy starts off, on a free port.
    copy.enabled = false;
    if (copy.direction != ForwardSpec::Direction::Reverse)
        copy.bindPort = MappingDialog::freePort(
            copy.bindHost, quint16(qMin(copy.bindPort + 1, 65535)), copy.protocol);
    m_controller->insertMapping(index + 1, copy);
    selectMapping(copy.id);
}

void MainWindow::deleteMapping()
{
    const QString id = selectedMappingId();
    const int row = m_mappingModel->rowOf(id);
    if (row < 0)
        return;
    m_controller->removeMapping(id);
    const int count = m_mappingModel->rowCount();
    if (count > 0)
        selectMapping(m_mappingModel->mappingIdAt(qMin(row, count - 1)));
}

void MainWindow::moveMapping(int offset)
{
    const QString id = selectedMappingId();
    m_controller->moveMapping(id, offset);
    selectMapping(id);
}

void MainWindow::toggleMapping()
{
    const int index = m_controller->profile().mappingIndex(selectedMappingId());
    if (index < 0)
        return;
    const MappingConfig &mapping = m_controller->profile().mappings.at(index);
    m_controller->setMappingEnabled(mapping.id, !mapping.enabled);
}

void MainWindow::deleteRemote()
{
    const int index = m_controller->profile().remoteIndex(selectedRemoteId());
    if (index < 0)
        return;
    const RemoteConfig remote = m_controller->profile().remotes.at(index);
    int used = 0;
    for (const MappingConfig &mapping : m_controller->profile().mappings)
        used += mapping.remoteId == remote.id ? 1 : 0;
    auto *box = new QMessageBox(
        QMessageBox::Question, tr("Delete Remote"),
        used == 0
            ? tr("Delete the remote \"%1\"?").arg(remote.name)
            : tr("Delete the remote \"%1\" and its %n mapping(s)?", nullptr, used).arg(remote.name),
        QMessageBox::Yes | QMessageBox::No, this);
    box->setObjectName(QStringLiteral("deleteRemoteBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setDefaultButton(QMessageBox::No);
    connect(box, &QMessageBox::finished, this, [this, box, id = remote.id] {
        if (box->clickedButton() == box->button(QMessageBox::Yes))
            m_controller->removeRemote(id);
    });
    box->open();
}

QString MainWindow::certificateRemoteId() const
{
    const EngineSnapshot snapshot = m_controller->snapshot();
    const auto refused = [&snapshot](const QString &remoteId) {
        const RemoteStats *stats = snapshot.remote(remoteId);
        return stats && !stats->rejectedCertificateSha256.isEmpty();
    };
    const QString remoteId = selectedRemoteId();
    if (refused(remoteId))
        return remoteId;
    const Profile &profile = m_controller->profile();
    const int index = profile.mappingIndex(selectedMappingId());
    if (index >= 0 && refused(profile.mappings.at(index).remoteId))
        return profile.mappings.at(index).remoteId;
    return QString();
}

void MainWindow::trustRejectedCertificate()
{
    const QString remoteId = certificateRemoteId();
    const int index = m_controller->profile().remoteIndex(remoteId);
    const EngineSnapshot snapshot = m_controller->snapshot();
    const RemoteStats *stats = snapshot.remote(remoteId);
    if (index < 0 || !stats)
        return;
    const RemoteConfig remote = m_controller->profile().remotes.at(index);
    // Captured now: what is trusted is exactly the certificate shown, even if the remote
    // presents another one meanwhile.
    const QString fingerprint = stats->rejectedCertificateSha256;
    auto *box = new QMessageBox(
        QMessageBox::Warning, tr("Trust This Certificate"),
        tr("<p>The certificate of the remote \"%1\" could not be verified.</p>"
           "<p>Remote: %2<br>Problem: %3</p><p>SHA-256 fingerprint:<br><tt>%4</tt></p>"
           "<p>Trust this certificate only if its fingerprint is the one the server's "
           "administrator gave you. WSTunnel will then accept this certificate, and only this "
           "one, for this remote.</p>")
            .arg(remote.name.toHtmlEscaped(), remote.url.toDisplayString().toHtmlEscaped(),
                 stats->certificateProblem.toHtmlEscaped(), fingerprint.toHtmlEscaped()),
        {}, this);
    box->setObjectName(QStringLiteral("trustCertificateBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextFormat(Qt::RichText);
    // So that the fingerprint can be copied and compared.
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPushButton *trust = box->addButton(tr("&Trust Certificate"), QMessageBox::AcceptRole);
    trust->setObjectName(QStringLiteral("trustButton"));
    QPushButton *cancel = box->addButton(QMessageBox::Cancel);
    // Trusting is never the answer to a stray Enter key.
    box->setDefaultButton(cancel);
    box->setEscapeButton(cancel);
    connect(box, &QMessageBox::finished, this, [this, box, trust, remote, fingerprint] {
        if (box->clickedButton() != trust)
            return;
        // The remote may have been edited or deleted while the question was open; the answer
        // was about this URL only.
        const int current = m_controller->profile().remoteIndex(remote.id);
        if (current < 0 || m_controller->profile().remotes.at(current).url != remote.url)
            return;
        RemoteConfig trusted = m_controller->profile().remotes.at(current);
        trusted.trustedCertificateSha256 =
            fingerprint.toLatin1().toLower().replace(':', QByteArray());
        m_controller->setRemote(trusted, m_controller->token(trusted.id));
    });
    box->open();
}

void MainWindow::closeSelectedChannel()
{
    const QModelIndexList rows = m_channelView->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return;
    m_controller->engine()->closeChannel(m_channelModel->mappingId(),
                                         m_channelModel->channelIdAt(rows.first().row()));
}

bool MainWindow::importProfile(const QString &path)
{
    QString error;
    if (!m_controller->importProfile(path, &error)) {
        showProblem(tr("The profile was not imported. %1").arg(error));
        return false;
    }
    statusBar()->showMessage(tr("Imported %1").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

int MainWindow::importSshForwards(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        showProblem(
            tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
        return 0;
    }
    const Profile &profile = m_controller->profile();
    int remoteIndex = profile.remoteIndex(selectedRemoteId());
    if (remoteIndex < 0)
        remoteIndex = 0;
    if (remoteIndex >= profile.remotes.size()) {
        showProblem(tr("Add a remote first: the imported mappings need one."));
        return 0;
    }
    const RemoteConfig &remote = profile.remotes.at(remoteIndex);
    const SshConfigForwards parsed = SshConfigForwards::parse(QString::fromUtf8(file.readAll()));
    QList<MappingConfig> mappings;
    for (const SshConfigForwards::Forward &forward : parsed.forwards) {
        MappingConfig mapping;
        mapping.id = Profile::newId();
        mapping.name =
            tr("%1 %2").arg(forward.host.isEmpty() ? QFileInfo(path).fileName() : forward.host,
                            forward.spec.bindEndpoint());
        mapping.remoteId = remote.id;
        mapping.direction = forward.spec.direction;
        mapping.bindHost = forward.spec.bindHost;
        mapping.bindPort = forward.spec.bindPort;
        mapping.targetHost = forward.spec.targetHost;
        mapping.targetPort = forward.spec.targetPort;
        // Nothing binds a port until the user switches the mapping on.
        mapping.enabled = false;
        mappings.append(mapping);
    }
    QStringList skipped;
    for (const SshConfigForwards::Skipped &line : parsed.skipped) {
        QString why;
        switch (line.reason) {
        case SshConfigForwards::SkipReason::ReverseSocks:
            why = tr("a SOCKS proxy on the remote side is not supported");
            break;
        case SshConfigForwards::SkipReason::UnixSocket:
            why = tr("WSTunnel forwards TCP ports, not Unix sockets");
            break;
        case SshConfigForwards::SkipReason::Malformed:
            why = tr("not [BIND:]PORT HOST:PORT");
            break;
        }
        skipped.append(tr("line %1 (%2): %3").arg(line.line).arg(line.text, why));
    }
    if (mappings.isEmpty()) {
        showProblem(skipped.isEmpty()
                        ? tr("%1 has no LocalForward, RemoteForward or DynamicForward lines.")
                              .arg(QDir::toNativeSeparators(path))
                        : tr("Nothing was imported from %1: %2")
                              .arg(QDir::toNativeSeparators(path), skipped.join(tr("; "))));
        return 0;
    }
    m_controller->appendMappings(mappings);
    selectMapping(mappings.first().id);
    QString message = tr("Imported %n mapping(s) into the remote \"%1\", switched off", nullptr,
                         int(mappings.size()))
                          .arg(remote.name);
    if (!skipped.isEmpty())
        message += tr("; skipped %1").arg(skipped.join(tr("; ")));
    statusBar()->showMessage(message, 15000);
    return int(mappings.size());
}

QString MainWindow::copyMappingAsCommandLine()
{
    const Profile &profile = m_controller->profile();
    const int index = profile.mappingIndex(selectedMappingId());
    if (index < 0)
        return QString();
    const MappingConfig &mapping = profile.mappings.at(index);
    const int remoteIndex = profile.remoteIndex(mapping.remoteId);
    const QString line =
        remoteIndex < 0 ? QString()
                        : CommandLineExport::forMapping(mapping, profile.remotes.at(remoteIndex));
    if (line.isEmpty()) {
        statusBar()->showMessage(tr("The built-in remote only runs inside WSTunnel: a mapping on "
                                    "it has no command line"),
                                 10000);
        return QString();
    }
    QApplication::clipboard()->setText(line);
    statusBar()->showMessage(
        tr("Copied. The token is not in it: the command reads it from %1; or set WSTUNNEL_TOKEN "
           "and drop --token-file")
            .arg(QString::fromLatin1(CommandLineExport::kDefaultTokenFile)),
        15000);
    return line;
}

bool MainWindow::exportProfile(const QString &path)
{
    QString error;
    if (!m_controller->exportProfile(path, &error)) {
        showProblem(error);
        return false;
    }
    statusBar()->showMessage(
        tr("Exported to %1 (tokens are not included)").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

void MainWindow::showAndRaise()
{
    if (isMinimized())
        setWindowState(windowState() & ~Qt::WindowMinimized);
    show();
    raise();
    activateWindow();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    UiSettings::setWindowGeometry(saveGeometry());
    // Only the user's close (from the window manager) hides to the tray; Qt 6 asks every window
    // to close on quit, and that must succeed.
    if (!event->spontaneous() || !m_tray || !m_tray->isVisible()) {
        event->accept();
        return;
    }
    // With a tray, the window is only a view: the tunnels keep running.
    event->ignore();
    hide();
    if (!UiSettings::trayNoticeShown()) {
        UiSettings::setTrayNoticeShown();
        m_tray->showMessage(tr("WSTunnel keeps running"),
                            tr("Your mappings stay active. Open the window or quit from the tray "
                               "icon's menu."));
    }
}

void MainWindow::rebuildRemoteList()
{
    const QString selected = selectedRemoteId();
    const QSignalBlocker blocker(m_remoteList);
    m_remoteList->clear();
    const EngineSnapshot snapshot = m_controller->snapshot();
    for (const RemoteConfig &remote : m_controller->profile().remotes) {
        auto *item = new QListWidgetItem(remote.name, m_remoteList);
        item->setData(kRemoteIdRole, remote.id);
        const RemoteStats *stats = snapshot.remote(remote.id);
        item->setIcon(Formatting::remoteStateIcon(stats ? stats->state : RemoteState::Idle));
        if (remote.id == selected)
            item->setSelected(true);
    }
    onSnapshot(snapshot);
}

void MainWindow::onSnapshot(const EngineSnapshot &snapshot)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (snapshot.sequence != 0)
        m_history.record(snapshot, now);
    const Profile &profile = m_controller->profile();
    for (int row = 0; row < m_remoteList->count(); ++row) {
        QListWidgetItem *item = m_remoteList->item(row);
        const QString id = item->data(kRemoteIdRole).toString();
        const RemoteStats *stats = snapshot.remote(id);
        const RemoteState state = stats ? stats->state : RemoteState::Idle;
        const int index = profile.remoteIndex(id);
        const RemoteConfig *remote = index >= 0 ? &profile.remotes.at(index) : nullptr;
        item->setIcon(Formatting::remoteStateIcon(state));
        QString where = remote && remote->builtIn
                            ? tr("Runs inside WSTunnel on loopback")
                            : (remote ? remote->url.toDisplayString() : QString());
        QString tip = tr("%1\n%2").arg(
            where, Formatting::remoteState(state, stats ? stats->heldConnections : 0));
        if (stats && state == RemoteState::Connected)
            tip += QLatin1Char('\n') +
                   tr("In %1, out %2 (averaged over the last %n s)", nullptr, kRateWindowMs / 1000)
                       .arg(Formatting::rate(stats->rateIn), Formatting::rate(stats->rateOut));
        if (remote && !remote->agent.isEmpty() && state == RemoteState::Connected)
            tip +=
                QLatin1Char('\n') +
                (stats->agentAddress.isEmpty()
                     ? tr("No agent named %1 is connected to the hub; waiting").arg(remote->agent)
                     : tr("Agent %1 is served by %2").arg(remote->agent, stats->agentAddress));
        if (stats && stats->error.isError() && stats->rejectedCertificateSha256.isEmpty())
            tip += QLatin1Char('\n') + ErrorMessages::describe(stats->error);
        if (stats && !stats->rejectedCertificateSha256.isEmpty())
            tip += QLatin1Char('\n') +
                   tr("Certificate not trusted: %1\nSHA-256 fingerprint: %2\nChoose \"Trust This "
                      "Certificate…\" in the context menu after checking it.")
                       .arg(stats->certificateProblem, stats->rejectedCertificateSha256);
        item->setToolTip(tip);
    }
    updateTrustAction();
    m_channelModel->update(snapshot);
    updateConnections();

    const int index = profile.mappingIndex(selectedMappingId());
    if (index >= 0) {
        const MappingConfig &mapping = profile.mappings.at(index);
        const MappingStats *stats = snapshot.mapping(mapping.id);
        QString text = tr("%1: %2").arg(
            mapping.name,
            Formatting::mappingState(mapping.enabled && stats ? stats->state : MappingState::Off));
        const QString detail =
            stats && mapping.enabled ? Formatting::mappingDetail(mapping, *stats) : QString();
        if (!detail.isEmpty())
            text += tr(" – %1").arg(detail);
        m_statusLabel->setText(text);
        // A long reason is cut off at the window's edge; the tooltip has all of it.
        m_statusLabel->setToolTip(text);
    } else {
        int on = 0;
        for (const MappingConfig &mapping : profile.mappings)
            on += mapping.enabled ? 1 : 0;
        m_statusLabel->setText(
            tr("Mappings switched on: %1 of %2").arg(on).arg(profile.mappings.size()));
        m_statusLabel->setToolTip(QString());
    }
}

void MainWindow::onMappingSelectionChanged()
{
    m_channelModel->setMapping(selectedMappingId(), m_controller->snapshot());
    updateActions();
    updateConnections();
    onSnapshot(m_controller->snapshot());
}

void MainWindow::updateActions()
{
    const Profile &profile = m_controller->profile();
    m_emptyHint->setVisible(profile.mappings.isEmpty());
    const int index = profile.mappingIndex(selectedMappingId());
    const bool hasMapping = index >= 0;
    m_addMappingAction->setEnabled(!profile.remotes.isEmpty());
    m_editMappingAction->setEnabled(hasMapping);
    m_duplicateMappingAction->setEnabled(hasMapping);
    m_deleteMappingAction->setEnabled(hasMapping);
    m_toggleMappingAction->setEnabled(hasMapping);
    m_copyCommandLineAction->setEnabled(hasMapping);
    m_moveUpAction->setEnabled(hasMapping && index > 0);
    m_moveDownAction->setEnabled(hasMapping && index < profile.mappings.size() - 1);
    const bool hasRemote = profile.remoteIndex(selectedRemoteId()) >= 0;
    m_editRemoteAction->setEnabled(hasRemote);
    m_deleteRemoteAction->setEnabled(hasRemote);
    updateTrustAction();
    m_closeChannelButton->setEnabled(!m_channelView->selectionModel()->selectedRows().isEmpty());
}

void MainWindow::updateTrustAction()
{
    const bool refused = !certificateRemoteId().isEmpty();
    m_trustCertificateAction->setEnabled(refused);
    m_trustCertificateButton->setVisible(refused);
}

void MainWindow::updateConnections()
{
    const Profile &profile = m_controller->profile();
    const int index = profile.mappingIndex(m_channelModel->mappingId());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // Datagram counts mean nothing for a TCP mapping's connections.
    const bool udp =
        index >= 0 && profile.mappings.at(index).protocol == MappingConfig::Protocol::Udp;
    for (int column :
         {int(ChannelTableModel::DatagramsColumn), int(ChannelTableModel::DroppedColumn)})
        m_channelView->setColumnHidden(column, !udp);
    if (index < 0) {
        m_connectionsTitle->setText(tr("<b>Connections</b> – select a mapping"));
        m_sparkline->setCaption(QString());
        m_sparkline->setSamples({}, now);
        return;
    }
    const MappingConfig &mapping = profile.mappings.at(index);
    const EngineSnapshot snapshot = m_controller->snapshot();
    const MappingStats *mappingStats = snapshot.mapping(mapping.id);
    if (udp)
        m_connectionsTitle->setText(tr("<b>Flows of %1</b> (%2, %3 datagrams dropped)")
                                        .arg(mapping.name.toHtmlEscaped())
                                        .arg(m_channelModel->rowCount())
                                        .arg(mappingStats ? mappingStats->datagramsDropped : 0));
    else
        m_connectionsTitle->setText(tr("<b>Connections of %1</b> (%2)")
                                        .arg(mapping.name.toHtmlEscaped())
                                        .arg(m_channelModel->rowCount()));
    const QModelIndexList rows = m_channelView->selectionModel()->selectedRows();
    if (!rows.isEmpty()) {
        const ChannelStats *channel = nullptr;
        const quint32 channelId = m_channelModel->channelIdAt(rows.first().row());
        if (const MappingStats *stats = mappingStats) {
            for (const ChannelStats &c : stats->channels)
                channel = c.id == channelId ? &c : channel;
            if (!channel)
                m_sparkline->setCaption(tr("Connection"));
            else if (channel->fromRemote)
                m_sparkline->setCaption(
                    tr("Connection through %1 on the remote").arg(channel->peer));
            else
                m_sparkline->setCaption(tr("Connection from %1").arg(channel->peer));
        }
        m_sparkline->setSamples(m_history.channel(mapping.id, channelId), now);
        return;
    }
    m_sparkline->setCaption(tr("All connections of %1").arg(mapping.name));
    m_sparkline->setSamples(m_history.mapping(mapping.id), now);
}

void MainWindow::updateBanner()
{
    m_banner->setVisible(m_controller->isSavingBlocked());
    m_bannerLabel->setText(tr("%1. Your changes are not saved until you decide what to do with "
                              "that file.")
                               .arg(m_controller->loadError()));
}

void MainWindow::showProblem(const QString &message)
{
    statusBar()->showMessage(message, 10000);
    auto *box =
        new QMessageBox(QMessageBox::Warning, tr("WSTunnel"), message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("problemBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

} // namespace wstunnel
