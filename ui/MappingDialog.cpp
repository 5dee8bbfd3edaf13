#include "MappingDialog.h"

#include "net/HostResolver.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTcpServer>
#include <QUdpSocket>
#include <QVBoxLayout>

namespace wstunnel {

namespace {

bool portInUse(const QHostAddress &address, quint16 port, MappingConfig::Protocol protocol)
{
    if (protocol == MappingConfig::Protocol::Udp) {
        QUdpSocket probe;
        return !probe.bind(address, port);
    }
    QTcpServer probe;
    return !probe.listen(address, port);
}

bool sameListenAddress(const QString &a, const QString &b)
{
    const auto isAny = [](const QString &host) {
        return host == QLatin1String("0.0.0.0") || host == QLatin1String("::");
    };
    return a == b || isAny(a) || isAny(b);
}

} // namespace

MappingDialog::MappingDialog(const Profile &profile, const MappingConfig &mapping, QWidget *parent)
    : QDialog(parent)
    , m_profile(profile)
    , m_original(mapping)
    , m_nameEdit(new QLineEdit(mapping.name, this))
    , m_remoteCombo(new QComboBox(this))
    , m_directionCombo(new QComboBox(this))
    , m_protocolCombo(new QComboBox(this))
    , m_listenEdit(new QLineEdit(this))
    , m_targetEdit(new QLineEdit(this))
    , m_enabledCheck(new QCheckBox(tr("&Switch on when saved"), this))
    , m_messageLabel(new QLabel(this))
    , m_freePortButton(new QPushButton(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setWindowTitle(profile.mappingIndex(mapping.id) < 0 ? tr("Add Mapping") : tr("Edit Mapping"));
    setObjectName(QStringLiteral("mappingDialog"));

    m_nameEdit->setObjectName(QStringLiteral("nameEdit"));
    m_nameEdit->setPlaceholderText(tr("e.g. PostgreSQL on the dev server"));
    m_nameEdit->setAccessibleName(tr("Name"));

    m_remoteCombo->setObjectName(QStringLiteral("remoteCombo"));
    m_remoteCombo->setAccessibleName(tr("Remote"));
    for (const RemoteConfig &remote : profile.remotes)
        m_remoteCombo->addItem(remote.name, remote.id);
    m_remoteCombo->setCurrentIndex(qMax(0, m_remoteCombo->findData(mapping.remoteId)));

    m_directionCombo->setObjectName(QStringLiteral("directionCombo"));
    m_directionCombo->setAccessibleName(tr("Direction"));
    m_directionCombo->addItem(tr("Local: a port here reaches a target on the remote side"));
    m_directionCombo->addItem(tr("Reverse: a port on the remote reaches a target here"));
    m_directionCombo->addItem(
        tr("Dynamic (SOCKS): a port here reaches any target the remote allows"));
    m_directionCombo->setCurrentIndex(int(mapping.direction)); // items in the enum's order

    m_protocolCombo->setObjectName(QStringLiteral("protocolCombo"));
    m_protocolCombo->setAccessibleName(tr("Protocol"));
    m_protocolCombo->addItem(tr("TCP"));
    m_protocolCombo->addItem(tr("UDP"));
    m_protocolCombo->setCurrentIndex(mapping.protocol == MappingConfig::Protocol::Tcp ? 0 : 1);

    m_listenEdit->setObjectName(QStringLiteral("listenEdit"));
    m_listenEdit->setAccessibleName(tr("Listen on"));
    // Port 0 is a choice for a saved reverse mapping (the remote picks one), not a blank field.
    if (mapping.bindPort != 0 || (mapping.direction == ForwardSpec::Direction::Reverse &&
                                  profile.mappingIndex(mapping.id) >= 0))
        m_listenEdit->setText(mapping.bindEndpoint());

    m_targetEdit->setObjectName(QStringLiteral("targetEdit"));
    m_targetEdit->setAccessibleName(tr("Target"));
    if (mapping.direction != ForwardSpec::Direction::Dynamic && !mapping.targetHost.isEmpty())
        m_targetEdit->setText(mapping.targetEndpoint());

    m_enabledCheck->setObjectName(QStringLiteral("enabledCheck"));
    m_enabledCheck->setChecked(mapping.enabled);

    m_messageLabel->setObjectName(QStringLiteral("messageLabel"));
    m_messageLabel->setWordWrap(true);
    m_messageLabel->setAccessibleName(tr("Problem"));
    QPalette warning = m_messageLabel->palette();
    warning.setColor(QPalette::WindowText, QColor(0xb0, 0x20, 0x20));
    m_messageLabel->setPalette(warning);

    m_freePortButton->setObjectName(QStringLiteral("freePortButton"));
    m_freePortButton->setVisible(false);
    connect(m_freePortButton, &QPushButton::clicked, this, [this] {
        QString host;
        quint16 port = 0;
        QString ignored;
        parseEndpoint(m_listenEdit->text(), &host, &port, &ignored);
        m_listenEdit->setText(host.isEmpty() ? QString::number(m_suggestedPort)
                                             : formatEndpoint(host, m_suggestedPort));
    });

    auto *form = new QFormLayout;
    form->addRow(tr("&Name:"), m_nameEdit);
    form->addRow(tr("&Remote:"), m_remoteCombo);
    form->addRow(tr("&Direction:"), m_directionCombo);
    form->addRow(tr("&Protocol:"), m_protocolCombo);
    form->addRow(tr("&Listen on:"), m_listenEdit);
    form->addRow(tr("&Target:"), m_targetEdit);
    form->addRow(QString(), m_enabledCheck);

    auto *messageRow = new QHBoxLayout;
    messageRow->addWidget(m_messageLabel, 1);
    messageRow->addWidget(m_freePortButton);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(messageRow);
    layout->addWidget(m_buttons);

    setTabOrder(m_nameEdit, m_remoteCombo);
    setTabOrder(m_remoteCombo, m_directionCombo);
    setTabOrder(m_directionCombo, m_protocolCombo);
    setTabOrder(m_protocolCombo, m_listenEdit);
    setTabOrder(m_listenEdit, m_targetEdit);
    setTabOrder(m_targetEdit, m_enabledCheck);
    setTabOrder(m_enabledCheck, m_freePortButton);

    connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
        validate();
        if (isValid())
            accept();
    });
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QLineEdit *edit : {m_nameEdit, m_listenEdit, m_targetEdit})
        connect(edit, &QLineEdit::textChanged, this, &MappingDialog::validate);
    for (QComboBox *combo : {m_remoteCombo, m_directionCombo, m_protocolCombo})
        connect(combo, &QComboBox::currentIndexChanged, this, &MappingDialog::validate);
    connect(m_directionCombo, &QComboBox::currentIndexChanged, this,
            &MappingDialog::updatePlaceholders);
    connect(m_enabledCheck, &QCheckBox::toggled, this, &MappingDialog::validate);
    updatePlaceholders();
    validate();
    setMinimumWidth(520);
}

MappingConfig MappingDialog::mapping() const
{
    MappingConfig mapping = m_original;
    quint16 ignored = 0;
    check(&mapping, &ignored);
    return mapping;
}

quint16 MappingDialog::freePort(const QString &bindHost, quint16 preferred,
                                MappingConfig::Protocol protocol)
{
    const QHostAddress address = HostResolver::parseLiteral(bindHost);
    for (int port = qMax<int>(preferred, 1024); port <= 65535 && port < preferred + 200; ++port) {
        if (!portInUse(address, quint16(port), protocol))
            return quint16(port);
    }
    if (protocol == MappingConfig::Protocol::Udp) {
        QUdpSocket probe;
        probe.bind(address, 0);
        return probe.localPort();
    }
    QTcpServer probe;
    probe.listen(address, 0);
    return probe.serverPort();
}

// The combo's items are in the order of ForwardSpec::Direction.
ForwardSpec::Direction MappingDialog::direction() const
{
    return ForwardSpec::Direction(m_directionCombo->currentIndex());
}

void MappingDialog::updatePlaceholders()
{
    // A SOCKS client names its target, over TCP only.
    const bool dynamic = direction() == ForwardSpec::Direction::Dynamic;
    m_targetEdit->setEnabled(!dynamic);
    m_protocolCombo->setEnabled(!dynamic);
    if (dynamic) {
        m_protocolCombo->setCurrentIndex(0);
        m_listenEdit->setPlaceholderText(tr("[ADDRESS:]PORT, e.g. 1080 or 127.0.0.1:1080"));
        m_targetEdit->setPlaceholderText(tr("named by each SOCKS client"));
        return;
    }
    // Which side each end is on flips with the direction.
    if (direction() == ForwardSpec::Direction::Local) {
        m_listenEdit->setPlaceholderText(tr("[ADDRESS:]PORT, e.g. 15432 or 127.0.0.1:15432"));
        m_targetEdit->setPlaceholderText(
            tr("HOST:PORT as seen from the remote, e.g. db.internal:5432"));
    } else {
        m_listenEdit->setPlaceholderText(
            tr("[ADDRESS:]PORT on the remote, e.g. 9000 or 127.0.0.1:9000; 0 lets the remote "
               "pick a free port"));
        m_targetEdit->setPlaceholderText(
            tr("HOST:PORT as seen from this computer, e.g. 127.0.0.1:8080"));
    }
}

void MappingDialog::validate()
{
    MappingConfig mapping = m_original;
    m_suggestedPort = 0;
    m_problem = check(&mapping, &m_suggestedPort);
    m_messageLabel->setText(m_problem);
    m_messageLabel->setVisible(!m_problem.isEmpty());
    m_freePortButton->setVisible(m_suggestedPort != 0);
    m_freePortButton->setText(tr("Use port %1").arg(m_suggestedPort));
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());
}

QString MappingDialog::check(MappingConfig *mapping, quint16 *suggestedPort) const
{
    mapping->name = m_nameEdit->text().trimmed();
    mapping->remoteId = m_remoteCombo->currentData().toString();
    mapping->direction = direction();
    mapping->protocol = m_protocolCombo->currentIndex() == 0 ? MappingConfig::Protocol::Tcp
                                                             : MappingConfig::Protocol::Udp;
    mapping->enabled = m_enabledCheck->isChecked();

    if (mapping->name.isEmpty())
        return tr("Give the mapping a name.");
    if (mapping->remoteId.isEmpty())
        return tr("Add a remote first: the mapping needs one to carry its connections.");

    // A reverse mapping's port is on the remote: checked there, and 0 lets it pick one.
    const bool reverse = mapping->direction == ForwardSpec::Direction::Reverse;
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 0;
    QString ignored;
    if (m_listenEdit->text().trimmed().isEmpty())
        return reverse ? tr("Enter the port the remote listens on (0 lets it pick a free one).")
                       : tr("Enter the port to listen on.");
    const bool parsed = parseEndpoint(m_listenEdit->text(), &host, &port, &ignored);
    if (reverse && !parsed)
        return tr("\"%1\" is not a port for the remote to listen on: write PORT or ADDRESS:PORT "
                  "with a port from 0 to 65535.")
            .arg(m_listenEdit->text().trimmed());
    if (!parsed || (port == 0 && !reverse))
        return tr("\"%1\" is not a port to listen on: write PORT or ADDRESS:PORT with a port from "
                  "1 to 65535.")
            .arg(m_listenEdit->text().trimmed());
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        host = QStringLiteral("127.0.0.1");
    const QHostAddress address = HostResolver::parseLiteral(host);
    if (address.isNull() && reverse)
        return tr("\"%1\" is not an IP address for the remote to listen on (e.g. 127.0.0.1 or "
                  "::1).")
            .arg(host);
    if (address.isNull())
        return tr("\"%1\" is not an IP address of this computer (e.g. 127.0.0.1, ::1 or 0.0.0.0).")
            .arg(host);
    mapping->bindHost = host;
    mapping->bindPort = port;

    QString targetHost;
    quint16 targetPort = 0;
    if (mapping->direction != ForwardSpec::Direction::Dynamic) {
        if (m_targetEdit->text().trimmed().isEmpty())
            return tr("Enter the target as HOST:PORT.");
        if (!parseEndpoint(m_targetEdit->text(), &targetHost, &targetPort, &ignored) ||
            targetHost.isEmpty() || targetPort == 0)
            return tr("\"%1\" is not a target: write HOST:PORT with a port from 1 to 65535.")
                .arg(m_targetEdit->text().trimmed());
    }
    mapping->targetHost = targetHost;
    mapping->targetPort = targetPort;

    for (const MappingConfig &other : m_profile.mappings) {
        // Mappings that are not both on may share a port: alternatives switched in turn.
        if (other.id == mapping->id || !other.enabled || !mapping->enabled ||
            (other.direction == ForwardSpec::Direction::Reverse) != reverse ||
            other.protocol != mapping->protocol || other.bindPort != port ||
            !sameListenAddress(other.bindHost, host))
            continue;
        // The remote picks a different free port for each reverse mapping on port 0.
        if (reverse && port == 0)
            continue;
        // Local ports all live on this computer; reverse ones on their remote.
        if (reverse && other.remoteId != mapping->remoteId)
            continue;
        return tr("The mapping \"%1\" already listens on %2.")
            .arg(other.name, other.bindEndpoint());
    }

    // Our own running forward holds its port; only a port that changes needs a look.
    const bool alreadyOurs =
        m_original.enabled && m_original.bindHost == host && m_original.bindPort == port &&
        m_original.protocol == mapping->protocol && m_profile.mappingIndex(m_original.id) >= 0;
    if (!reverse && mapping->enabled && !alreadyOurs &&
        portInUse(address, port, mapping->protocol)) {
        *suggestedPort = freePort(host, quint16(qMin(port + 1, 65535)), mapping->protocol);
        return mapping->protocol == MappingConfig::Protocol::Udp
                   ? tr("UDP port %1 is already in use on this computer.").arg(port)
                   : tr("Port %1 is already in use on this computer.").arg(port);
    }
    return QString();
}

} // namespace wstunnel
