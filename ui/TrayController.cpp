#include "TrayController.h"

#include "AppController.h"
#include "Formatting.h"

#include <QAction>
#include <QMenu>
#include <QSystemTrayIcon>

namespace wstunnel {

TrayController::TrayController(AppController *controller, QObject *parent)
    : QObject(parent)
    , m_controller(controller)
    , m_menu(std::make_unique<QMenu>())
    , m_trayIcon(new QSystemTrayIcon(this))
{
    m_menu->setObjectName(QStringLiteral("trayMenu"));
    m_openAction = m_menu->addAction(tr("&Open WSTunnel"));
    m_menu->addSeparator();
    m_startAllAction = m_menu->addAction(tr("&Start All Mappings"));
    m_stopAllAction = m_menu->addAction(tr("S&top All Mappings"));
    m_menu->addSeparator();
    // The mappings' entries go between the separators around this one.
    m_mappingsSeparator = m_menu->addSeparator();
    m_quitAction = m_menu->addAction(tr("&Quit"));

    connect(m_openAction, &QAction::triggered, this, &TrayController::openWindowRequested);
    connect(m_startAllAction, &QAction::triggered, this,
            [this] { m_controller->setAllEnabled(true); });
    connect(m_stopAllAction, &QAction::triggered, this,
            [this] { m_controller->setAllEnabled(false); });
    connect(m_quitAction, &QAction::triggered, this, &TrayController::quitRequested);
    connect(m_trayIcon, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason reason) {
                if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
                    Q_EMIT openWindowRequested();
            });
    connect(controller, &AppController::profileChanged, this,
            &TrayController::rebuildMappingActions);
    connect(controller, &AppController::snapshotUpdated, this, &TrayController::onSnapshot);

    m_trayIcon->setContextMenu(m_menu.get());
    setState(TrayState::Stopped, tr("WSTunnel: stopped"));
    rebuildMappingActions();
}

TrayController::~TrayController() = default;

bool TrayController::isTrayAvailable()
{
    return QSystemTrayIcon::isSystemTrayAvailable();
}

TrayController::TrayState TrayController::stateOf(const EngineSnapshot &snapshot,
                                                  const Profile &profile)
{
    bool anyEnabled = false;
    for (const MappingConfig &mapping : profile.mappings)
        anyEnabled = anyEnabled || mapping.enabled;
    bool connected = false;
    bool traffic = false;
    for (const MappingStats &mapping : snapshot.mappings) {
        const int index = profile.mappingIndex(mapping.id);
        if (index < 0 || !profile.mappings.at(index).enabled)
            continue;
        if (mapping.state == MappingState::Error)
            return TrayState::Error;
        traffic = traffic || mapping.rateIn >= 1 || mapping.rateOut >= 1;
        connected = connected || mapping.state == MappingState::Listening ||
                    mapping.state == MappingState::Active || mapping.state == MappingState::Failing;
    }
    if (!anyEnabled)
        return TrayState::Stopped;
    if (traffic)
        return TrayState::Traffic;
    return connected ? TrayState::Connected : TrayState::Stopped;
}

QIcon TrayController::iconFor(TrayState state)
{
    switch (state) {
    case TrayState::Stopped:
        return QIcon(QStringLiteral(":/icons/tray-stopped.svg"));
    case TrayState::Connected:
        return QIcon(QStringLiteral(":/icons/tray-connected.svg"));
    case TrayState::Traffic:
        return QIcon(QStringLiteral(":/icons/tray-traffic.svg"));
    case TrayState::Error:
        return QIcon(QStringLiteral(":/icons/tray-error.svg"));
    }
    return QIcon();
}

void TrayController::show()
{
    m_trayIcon->show();
}

bool TrayController::isVisible() const
{
    return m_trayIcon->isVisible();
}

QAction *TrayController::mappingAction(const QString &mappingId) const
{
    for (QAction *action : m_mappingActions) {
        if (action->data().toString() == mappingId)
            return action;
    }
    return nullptr;
}

void TrayController::showMessage(const QString &title, const QString &message)
{
    m_trayIcon->showMessage(title, message, iconFor(m_state));
}

void TrayController::rebuildMappingActions()
{
    qDeleteAll(m_mappingActions);
    m_mappingActions.clear();
    const Profile &profile = m_controller->profile();
    QAction *before = m_mappingsSeparator;
    for (const MappingConfig &mapping : profile.mappings) {
        const QString text =
            mapping.direction == ForwardSpec::Direction::Reverse
                ? tr("%1 (remote %2 → %3)")
                      .arg(mapping.name, mapping.bindEndpoint(), mapping.targetEndpoint())
                : tr("%1 (%2 → %3)")
                      .arg(mapping.name, mapping.bindEndpoint(), mapping.targetEndpoint());
        auto *action = new QAction(text, m_menu.get());
        action->setCheckable(true);
        action->setChecked(mapping.enabled);
        action->setData(mapping.id);
        // Queued: the edit rebuilds these entries, which must not happen under the sender.
        connect(
            action, &QAction::toggled, this,
            [this, id = mapping.id](bool checked) { m_controller->setMappingEnabled(id, checked); },
            Qt::QueuedConnection);
        m_menu->insertAction(before, action);
        m_mappingActions.append(action);
    }
    onSnapshot(m_controller->snapshot());
}

void TrayController::onSnapshot(const EngineSnapshot &snapshot)
{
    const Profile &profile = m_controller->profile();
    const TrayState state = stateOf(snapshot, profile);
    int active = 0;
    int connections = 0;
    double rateIn = 0;
    double rateOut = 0;
    QString firstError;
    for (const MappingStats &mapping : snapshot.mappings) {
        const int index = profile.mappingIndex(mapping.id);
        if (index < 0 || !profile.mappings.at(index).enabled)
            continue;
        ++active;
        connections += mapping.openChannels;
        rateIn += mapping.rateIn;
        rateOut += mapping.rateOut;
        if (mapping.state == MappingState::Error && firstError.isEmpty())
            firstError =
                tr("%1: %2").arg(profile.mappings.at(index).name,
                                 Formatting::mappingDetail(profile.mappings.at(index), mapping));
    }
    QString toolTip;
    switch (state) {
    case TrayState::Stopped:
        toolTip = tr("WSTunnel: stopped");
        break;
    case TrayState::Error:
        toolTip = tr("WSTunnel: error\n%1").arg(firstError);
        break;
    case TrayState::Connected:
    case TrayState::Traffic:
        toolTip = tr("WSTunnel: mappings on: %1, connections: %2\nin %3, out %4")
                      .arg(active)
                      .arg(connections)
                      .arg(Formatting::rate(rateIn), Formatting::rate(rateOut));
        break;
    }
    setState(state, toolTip);
}

void TrayController::setState(TrayState state, const QString &toolTip)
{
    if (state != m_state || m_trayIcon->icon().isNull())
        m_trayIcon->setIcon(iconFor(state));
    m_state = state;
    m_trayIcon->setToolTip(toolTip);
}

} // namespace wstunnel
