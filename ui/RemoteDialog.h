#pragma once

#include "TunnelError.h"
#include "engine/ConnectionProbe.h"
#include "engine/RemoteConfig.h"
#include "protocol/Message.h"

#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTreeWidget;

namespace wstunnel {

class AgentDirectoryQuery;

// Adds or edits a remote: its name, URL and token, the agent to reach when the URL is a hub (which
// the hub can list), and how to reach it (TLS trust, client certificate, proxy, extra upgrade
// headers). The built-in remote only has a name to edit.
class RemoteDialog : public QDialog
{
    Q_OBJECT

public:
    RemoteDialog(const RemoteConfig &remote, const QByteArray &token, QWidget *parent = nullptr);

    RemoteConfig remote() const;
    QByteArray token() const;
    bool isValid() const { return m_problem.isEmpty(); }
    QString problem() const { return m_problem; }

    // Connects once with what the dialog holds now and shows the answer below the button.
    void testConnection();
    QString testResult() const;

private:
    QLineEdit *fileEdit(const QString &objectName, const QString &text, const QString &title,
                        QWidget **row);
    void validate();
    // Asks the hub of the settings as they stand which agents the token may reach.
    void findAgents();
    void showAgents(const QList<AgentListing> &agents);
    void showAgentListProblem(const QString &problem);
    QString check(RemoteConfig *remote) const;
    void showTestResult(const ConnectionProbe::Result &result);

    RemoteConfig m_original;
    QLineEdit *m_nameEdit;
    QLineEdit *m_urlEdit;
    QLineEdit *m_tokenEdit;
    QLineEdit *m_agentEdit;
    QPushButton *m_findAgentsButton;
    QTreeWidget *m_agentList;
    QLabel *m_agentListStatus;
    AgentDirectoryQuery *m_agentQuery = nullptr;
    QGroupBox *m_tlsGroup;
    QLineEdit *m_caFileEdit = nullptr;
    QLineEdit *m_pinEdit;
    QLineEdit *m_fingerprintEdit;
    QLineEdit *m_clientCertEdit = nullptr;
    QLineEdit *m_clientKeyEdit = nullptr;
    QGroupBox *m_proxyGroup;
    QComboBox *m_proxyModeCombo;
    QLineEdit *m_proxyUrlEdit;
    QPlainTextEdit *m_headersEdit;
    QLabel *m_messageLabel;
    QPushButton *m_testButton;
    QLabel *m_testResultLabel;
    ConnectionProbe *m_probe;
    QString m_testedEndpoint;
    QDialogButtonBox *m_buttons;
    QString m_problem;
};

} // namespace wstunnel
