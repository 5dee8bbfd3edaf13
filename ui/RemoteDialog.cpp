#include "RemoteDialog.h"

#include "ErrorMessages.h"
#include "Formatting.h"
#include "config/ForwardSpec.h"
#include "hub/AgentDirectoryQuery.h"
#include "hub/AgentName.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace wstunnel {

RemoteDialog::RemoteDialog(const RemoteConfig &remote, const QByteArray &token, QWidget *parent)
    : QDialog(parent)
    , m_original(remote)
    , m_nameEdit(new QLineEdit(remote.name, this))
    , m_urlEdit(new QLineEdit(remote.url.toString(), this))
    , m_tokenEdit(new QLineEdit(QString::fromUtf8(token), this))
    , m_agentEdit(new QLineEdit(remote.agent, this))
    , m_findAgentsButton(new QPushButton(tr("Find A&gents"), this))
    , m_agentList(new QTreeWidget(this))
    , m_agentListStatus(new QLabel(this))
    , m_tlsGroup(new QGroupBox(tr("TLS"), this))
    , m_pinEdit(new QLineEdit(QString::fromLatin1(remote.pinSha256), this))
    , m_fingerprintEdit(new QLineEdit(QString::fromLatin1(remote.trustedCertificateSha256), this))
    , m_proxyGroup(new QGroupBox(tr("Proxy"), this))
    , m_proxyModeCombo(new QComboBox(this))
    , m_proxyUrlEdit(new QLineEdit(remote.proxyUrl.toString(), this))
    , m_headersEdit(new QPlainTextEdit(this))
    , m_messageLabel(new QLabel(this))
    , m_testButton(new QPushButton(tr("Te&st Connection"), this))
    , m_testResultLabel(new QLabel(this))
    , m_probe(new ConnectionProbe(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setObjectName(QStringLiteral("remoteDialog"));
    setWindowTitle(remote.name.isEmpty() ? tr("Add Remote") : tr("Edit Remote"));

    m_nameEdit->setObjectName(QStringLiteral("nameEdit"));
    m_nameEdit->setAccessibleName(tr("Name"));
    m_urlEdit->setObjectName(QStringLiteral("urlEdit"));
    m_urlEdit->setAccessibleName(tr("URL"));
    m_urlEdit->setPlaceholderText(tr("wss://devbox.example.com/tunnel"));
    m_tokenEdit->setObjectName(QStringLiteral("tokenEdit"));
    m_tokenEdit->setAccessibleName(tr("Token"));
    m_tokenEdit->setEchoMode(QLineEdit::Password);
    m_tokenEdit->setPlaceholderText(tr("kept in the keychain, not in the profile"));
    m_agentEdit->setObjectName(QStringLiteral("agentEdit"));
    m_agentEdit->setAccessibleName(tr("Agent"));
    m_agentEdit->setPlaceholderText(tr("when the URL is a hub: the agent to reach through it"));
    m_findAgentsButton->setObjectName(QStringLiteral("findAgentsButton"));
    m_findAgentsButton->setToolTip(tr("Ask the hub which agents this token may reach"));
    m_agentList->setObjectName(QStringLiteral("agentList"));
    m_agentList->setAccessibleName(tr("Agents online"));
    m_agentList->setHeaderLabels({tr("Agent"), tr("State"), tr("Served by"), tr("Connected for")});
    m_agentList->setFixedHeight(m_agentList->fontMetrics().lineSpacing() * 7);
    m_agentList->hide();
    m_agentListStatus->setObjectName(QStringLiteral("agentListStatus"));
    m_agentListStatus->setWordWrap(true);
    m_agentListStatus->hide();

    QWidget *caRow = nullptr;
    QWidget *certRow = nullptr;
    QWidget *keyRow = nullptr;
    m_caFileEdit = fileEdit(QStringLiteral("caFileEdit"), remote.caFile,
                            tr("Certificate authorities (PEM)"), &caRow);
    m_clientCertEdit = fileEdit(QStringLiteral("clientCertEdit"), remote.clientCertFile,
                                tr("Client certificate (PEM)"), &certRow);
    m_clientKeyEdit = fileEdit(QStringLiteral("clientKeyEdit"), remote.clientKeyFile,
                               tr("Client key (PEM)"), &keyRow);
    m_pinEdit->setObjectName(QStringLiteral("pinEdit"));
    m_pinEdit->setAccessibleName(tr("Public key pin"));
    m_pinEdit->setPlaceholderText(tr("base64 SHA-256 of the server's public key (optional)"));
    m_fingerprintEdit->setObjectName(QStringLiteral("fingerprintEdit"));
    m_fingerprintEdit->setAccessibleName(tr("Trusted certificate fingerprint"));
    m_fingerprintEdit->setPlaceholderText(tr("hex SHA-256 of a certificate you accept (optional)"));
    auto *tlsForm = new QFormLayout(m_tlsGroup);
    tlsForm->addRow(tr("&CA file:"), caRow);
    tlsForm->addRow(tr("Public key &pin:"), m_pinEdit);
    tlsForm->addRow(tr("Trusted &fingerprint:"), m_fingerprintEdit);
    tlsForm->addRow(tr("Client c&ertificate:"), certRow);
    tlsForm->addRow(tr("Client &key:"), keyRow);

    m_proxyModeCombo->setObjectName(QStringLiteral("proxyModeCombo"));
    m_proxyModeCombo->setAccessibleName(tr("Proxy mode"));
    m_proxyModeCombo->addItem(tr("System settings"), int(ClientSettings::ProxyMode::System));
    m_proxyModeCombo->addItem(tr("No proxy"), int(ClientSettings::ProxyMode::None));
    m_proxyModeCombo->addItem(tr("This proxy:"), int(ClientSettings::ProxyMode::Manual));
    m_proxyModeCombo->setCurrentIndex(m_proxyModeCombo->findData(int(remote.proxyMode)));
    m_proxyUrlEdit->setObjectName(QStringLiteral("proxyUrlEdit"));
    m_proxyUrlEdit->setAccessibleName(tr("Proxy URL"));
    m_proxyUrlEdit->setPlaceholderText(tr("http://[USER:PASSWORD@]HOST:PORT"));
    auto *proxyRow = new QHBoxLayout(m_proxyGroup);
    proxyRow->addWidget(m_proxyModeCombo);
    proxyRow->addWidget(m_proxyUrlEdit, 1);

    m_headersEdit->setObjectName(QStringLiteral("headersEdit"));
    m_headersEdit->setAccessibleName(tr("Extra headers"));
    m_headersEdit->setPlaceholderText(tr("Name: value, one per line (optional)"));
    m_headersEdit->setTabChangesFocus(true);
    m_headersEdit->setFixedHeight(m_headersEdit->fontMetrics().lineSpacing() * 4);
    QStringList headerLines;
    for (const auto &header : remote.headers)
        headerLines.append(QStringLiteral("%1: %2").arg(QString::fromLatin1(header.first),
                                                        QString::fromUtf8(header.second)));
    m_headersEdit->setPlainText(headerLines.join(QLatin1Char('\n')));

    m_messageLabel->setObjectName(QStringLiteral("messageLabel"));
    m_messageLabel->setWordWrap(true);
    QPalette warning = m_messageLabel->palette();
    warning.setColor(QPalette::WindowText, QColor(0xb0, 0x20, 0x20));
    m_messageLabel->setPalette(warning);

    auto *form = new QFormLayout;
    form->addRow(tr("&Name:"), m_nameEdit);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    if (remote.builtIn) {
        auto *note = new QLabel(tr("This remote runs inside WSTunnel on this computer, on "
                                   "loopback only. It needs no URL or token."),
                                this);
        note->setWordWrap(true);
        layout->addWidget(note);
        m_urlEdit->hide();
        m_tokenEdit->hide();
        m_agentEdit->hide();
        m_findAgentsButton->hide();
        m_tlsGroup->hide();
        m_proxyGroup->hide();
        m_headersEdit->hide();
    } else {
        form->addRow(tr("&URL:"), m_urlEdit);
        form->addRow(tr("&Token:"), m_tokenEdit);
        auto *agentRow = new QHBoxLayout;
        agentRow->addWidget(m_agentEdit, 1);
        agentRow->addWidget(m_findAgentsButton);
        form->addRow(tr("&Agent:"), agentRow);
        form->addRow(QString(), m_agentListStatus);
        form->addRow(QString(), m_agentList);
        layout->addWidget(m_tlsGroup);
        layout->addWidget(m_proxyGroup);
        auto *headersForm = new QFormLayout;
        headersForm->addRow(tr("Extra &headers:"), m_headersEdit);
        layout->addLayout(headersForm);
        m_testButton->setObjectName(QStringLiteral("testConnectionButton"));
        m_testButton->setToolTip(tr("Connects once with these settings and reports whether the "
                                    "remote is reachable, its TLS and the token are accepted, and "
                                    "who answered"));
        m_testResultLabel->setObjectName(QStringLiteral("testResultLabel"));
        m_testResultLabel->setWordWrap(true);
        m_testResultLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
        auto *testRow = new QHBoxLayout;
        testRow->addWidget(m_testButton, 0, Qt::AlignTop);
        testRow->addWidget(m_testResultLabel, 1);
        layout->addLayout(testRow);
        connect(m_testButton, &QPushButton::clicked, this, &RemoteDialog::testConnection);
        connect(m_probe, &ConnectionProbe::finished, this, &RemoteDialog::showTestResult);
    }
    layout->addWidget(m_messageLabel);
    layout->addWidget(m_buttons);

    connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
        validate();
        if (isValid())
            accept();
    });
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QLineEdit *edit : {m_nameEdit, m_urlEdit, m_agentEdit, m_pinEdit, m_fingerprintEdit,
                            m_proxyUrlEdit, m_caFileEdit, m_clientCertEdit, m_clientKeyEdit})
        connect(edit, &QLineEdit::textChanged, this, &RemoteDialog::validate);
    connect(m_headersEdit, &QPlainTextEdit::textChanged, this, &RemoteDialog::validate);
    connect(m_findAgentsButton, &QPushButton::clicked, this, &RemoteDialog::findAgents);
    connect(m_agentList, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item) {
        if (item)
            m_agentEdit->setText(item->data(0, Qt::UserRole).toString());
    });
    connect(m_proxyModeCombo, &QComboBox::currentIndexChanged, this, &RemoteDialog::validate);
    validate();
    setMinimumWidth(560);
}

QLineEdit *RemoteDialog::fileEdit(const QString &objectName, const QString &text,
                                  const QString &title, QWidget **row)
{
    auto *container = new QWidget(this);
    auto *edit = new QLineEdit(text, container);
    edit->setObjectName(objectName);
    edit->setAccessibleName(title);
    auto *browse = new QPushButton(tr("Browse…"), container);
    browse->setAccessibleName(tr("Browse for %1").arg(title));
    auto *layout = new QHBoxLayout(container);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    connect(browse, &QPushButton::clicked, this, [this, edit, title] {
        const QString file = QFileDialog::getOpenFileName(
            this, title, edit->text(), tr("PEM files (*.pem *.crt *.key);;All files (*)"));
        if (!file.isEmpty())
            edit->setText(file);
    });
    *row = container;
    return edit;
}

RemoteConfig RemoteDialog::remote() const
{
    RemoteConfig remote = m_original;
    check(&remote);
    return remote;
}

QByteArray RemoteDialog::token() const
{
    return m_original.builtIn ? QByteArray() : m_tokenEdit->text().trimmed().toUtf8();
}

void RemoteDialog::validate()
{
    RemoteConfig remote = m_original;
    m_problem = check(&remote);
    m_proxyUrlEdit->setEnabled(remote.proxyMode == ClientSettings::ProxyMode::Manual);
    m_messageLabel->setText(m_problem);
    m_messageLabel->setVisible(!m_problem.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());
    m_testButton->setEnabled(m_problem.isEmpty() && !m_probe->isRunning());
}

void RemoteDialog::testConnection()
{
    if (!isValid() || m_original.builtIn || m_probe->isRunning())
        return;
    const RemoteConfig tested = remote();
    const int port = tested.url.port(tested.url.scheme() == QLatin1String("wss") ? 443 : 80);
    m_testedEndpoint = formatEndpoint(tested.url.host(), quint16(port));
    m_testButton->setEnabled(false);
    m_testResultLabel->setText(tr("Connecting to %1…").arg(m_testedEndpoint));
    m_probe->start(tested, token());
}

QString RemoteDialog::testResult() const
{
    return m_probe->isRunning() ? QString() : m_testResultLabel->text();
}

void RemoteDialog::showTestResult(const ConnectionProbe::Result &result)
{
    m_testButton->setEnabled(m_problem.isEmpty());
    if (!result.error.isError()) {
        const QString tls = result.tls ? tr("TLS accepted") : tr("no TLS (ws://)");
        m_testResultLabel->setText(
            tr("Works: %1 reachable, %2, token accepted. The remote \"%3\" speaks protocol "
               "version %4.")
                .arg(m_testedEndpoint, tls, result.peerName)
                .arg(result.protocolVersion));
        return;
    }
    const QString why = ErrorMessages::describe(result.error);
    switch (result.error.kind) {
    case TunnelError::Kind::TokenRefused:
    case TunnelError::Kind::UpgradeForbidden:
    case TunnelError::Kind::NoTunnelAtPath:
    case TunnelError::Kind::HttpStatus:
        m_testResultLabel->setText(tr("Reachable%1, but refused: %2")
                                       .arg(result.tls ? tr(", TLS accepted") : QString(), why));
        return;
    case TunnelError::Kind::CertificateNotTrusted:
    case TunnelError::Kind::PublicKeyPinMismatch:
    case TunnelError::Kind::PinNotCheckable:
    case TunnelError::Kind::ClientCertificateRequired:
    case TunnelError::Kind::ClientCertificateRefused:
    case TunnelError::Kind::TlsAlert:
    case TunnelError::Kind::TlsHandshakeFailed:
    case TunnelError::Kind::ClosedDuringTlsHandshake:
    case TunnelError::Kind::TlsSetupFailed:
    case TunnelError::Kind::TlsFileUnreadable:
    case TunnelError::Kind::TlsFileInvalid:
    case TunnelError::Kind::ClientCertificateIncomplete:
        m_testResultLabel->setText(tr("Reachable, but TLS failed: %1").arg(why));
        return;
    default:
        m_testResultLabel->setText(tr("Not reachable: %1").arg(why));
        return;
    }
}

void RemoteDialog::findAgents()
{
    RemoteConfig remote = m_original;
    const QString problem = check(&remote);
    if (!problem.isEmpty()) {
        showAgentListProblem(problem);
        return;
    }
    ClientSettings settings = remote.toClientSettings();
    settings.token = token();
    if (m_agentQuery)
        m_agentQuery->deleteLater();
    m_agentQuery = new AgentDirectoryQuery(settings, this);
    connect(m_agentQuery, &AgentDirectoryQuery::listed, this, &RemoteDialog::showAgents);
    connect(m_agentQuery, &AgentDirectoryQuery::failed, this, [this](const TunnelError &error) {
        showAgentListProblem(ErrorMessages::describe(error));
    });
    m_findAgentsButton->setEnabled(false);
    m_agentListStatus->setPalette(palette());
    m_agentListStatus->setText(tr("Asking %1 for its agents…").arg(remote.url.toDisplayString()));
    m_agentListStatus->show();
    m_agentQuery->start();
}

void RemoteDialog::showAgents(const QList<AgentListing> &agents)
{
    m_findAgentsButton->setEnabled(true);
    const QSignalBlocker blocker(m_agentList);
    m_agentList->clear();
    const QDateTime now = QDateTime::currentDateTime();
    QHash<QString, QTreeWidgetItem *> byName;
    for (const AgentListing &agent : agents) {
        QTreeWidgetItem *active = byName.value(agent.name);
        // The active instance of a name heads its row; its standbys are listed under it.
        auto *item = active ? new QTreeWidgetItem(active) : new QTreeWidgetItem(m_agentList);
        if (!active)
            byName.insert(agent.name, item);
        item->setData(0, Qt::UserRole, agent.name);
        item->setText(0, agent.name);
        item->setText(1, active ? tr("standby") : tr("active"));
        item->setText(2, agent.address);
        item->setText(3, Formatting::duration(qint64(agent.connectedSeconds) * 1000));
        item->setToolTip(3,
                         tr("connected since %1")
                             .arg(QLocale().toString(now.addSecs(-qint64(agent.connectedSeconds)),
                                                     QLocale::ShortFormat)));
        if (active)
            active->setText(1, tr("active, %n on standby", nullptr, active->childCount()));
        if (agent.name == m_agentEdit->text().trimmed() && !active)
            m_agentList->setCurrentItem(item);
    }
    m_agentList->expandAll();
    for (int column = 0; column < m_agentList->columnCount(); ++column)
        m_agentList->resizeColumnToContents(column);
    m_agentList->setVisible(!agents.isEmpty());
    m_agentListStatus->setPalette(palette());
    m_agentListStatus->setText(
        agents.isEmpty() ? tr("No agent that this token may reach is connected to the hub.")
                         : tr("Agents online: %1. Pick one to reach it.").arg(byName.size()));
}

void RemoteDialog::showAgentListProblem(const QString &problem)
{
    m_findAgentsButton->setEnabled(true);
    m_agentList->clear();
    m_agentList->hide();
    m_agentListStatus->setPalette(m_messageLabel->palette());
    m_agentListStatus->setText(problem);
    m_agentListStatus->show();
}

QString RemoteDialog::check(RemoteConfig *remote) const
{
    remote->name = m_nameEdit->text().trimmed();
    if (remote->name.isEmpty())
        return tr("Give the remote a name.");
    if (remote->builtIn)
        return QString();

    remote->url = QUrl(m_urlEdit->text().trimmed(), QUrl::StrictMode);
    const QString scheme = remote->url.scheme();
    if (!remote->url.isValid() || remote->url.host().isEmpty() ||
        (scheme != QLatin1String("ws") && scheme != QLatin1String("wss")))
        return tr("The URL must start with ws:// or wss:// and name a host.");
    remote->agent = m_agentEdit->text().trimmed();
    if (!remote->agent.isEmpty() && !AgentName::isValid(remote->agent))
        return tr("An agent name has up to %1 letters, digits, '.', '_' and '-'.")
            .arg(AgentName::kMaxLength);

    remote->caFile = m_caFileEdit->text().trimmed();
    remote->clientCertFile = m_clientCertEdit->text().trimmed();
    remote->clientKeyFile = m_clientKeyEdit->text().trimmed();
    if (remote->clientCertFile.isEmpty() != remote->clientKeyFile.isEmpty())
        return tr("A client certificate needs its key, and a key its certificate.");
    remote->pinSha256 = m_pinEdit->text().trimmed().toLatin1();
    if (!remote->pinSha256.isEmpty() &&
        QByteArray::fromBase64(remote->pinSha256, QByteArray::AbortOnBase64DecodingErrors).size() !=
            32)
        return tr("The public key pin must be a base64 SHA-256 digest (44 characters).");
    QString fingerprint = m_fingerprintEdit->text().trimmed();
    fingerprint.remove(QLatin1Char(':'));
    static const QRegularExpression hex64(QStringLiteral("^[0-9a-fA-F]{64}$"));
    if (!fingerprint.isEmpty() && !hex64.match(fingerprint).hasMatch())
        return tr("The certificate fingerprint must be 64 hexadecimal digits (SHA-256).");
    remote->trustedCertificateSha256 = fingerprint.toLower().toLatin1();

    remote->proxyMode = ClientSettings::ProxyMode(m_proxyModeCombo->currentData().toInt());
    remote->proxyUrl = QUrl(m_proxyUrlEdit->text().trimmed(), QUrl::StrictMode);
    if (remote->proxyMode == ClientSettings::ProxyMode::Manual &&
        (remote->proxyUrl.scheme() != QLatin1String("http") || remote->proxyUrl.host().isEmpty() ||
         remote->proxyUrl.port() <= 0))
        return tr("The proxy must be written http://HOST:PORT.");
    if (remote->proxyMode != ClientSettings::ProxyMode::Manual &&
        m_proxyUrlEdit->text().trimmed().isEmpty())
        remote->proxyUrl.clear();

    remote->headers.clear();
    const QStringList lines = m_headersEdit->toPlainText().split(QLatin1Char('\n'));
    static const QRegularExpression headerName(QStringLiteral("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"));
    for (const QString &line : lines) {
        if (line.trimmed().isEmpty())
            continue;
        const qsizetype colon = line.indexOf(QLatin1Char(':'));
        const QString name = line.left(colon).trimmed();
        if (colon <= 0 || !headerName.match(name).hasMatch())
            return tr("Header line \"%1\" is not \"Name: value\".").arg(line.trimmed());
        remote->headers.append({name.toLatin1(), line.mid(colon + 1).trimmed().toUtf8()});
    }
    return QString();
}

} // namespace wstunnel
