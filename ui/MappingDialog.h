#pragma once

#include "engine/Profile.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace wstunnel {

// Adds or edits one mapping. Input is checked as it is typed: endpoint syntax, a listening
// address another mapping already uses, and a local port some other program holds (with a free
// port offered instead). OK stays disabled while anything is wrong. A reverse mapping listens on
// its remote, which checks the port itself: its refusal shows as the mapping's error. TCP and UDP
// ports are apart: a TCP and a UDP mapping may listen on the same port.
class MappingDialog : public QDialog
{
    Q_OBJECT

public:
    MappingDialog(const Profile &profile, const MappingConfig &mapping, QWidget *parent = nullptr);

    MappingConfig mapping() const;
    bool isValid() const { return m_problem.isEmpty(); }
    QString problem() const { return m_problem; }
    // A free port of the protocol on the listening address, at or above preferred.
    static quint16 freePort(const QString &bindHost, quint16 preferred,
                            MappingConfig::Protocol protocol);

private:
    void validate();
    void updatePlaceholders();
    ForwardSpec::Direction direction() const;
    QString check(MappingConfig *mapping, quint16 *suggestedPort) const;

    Profile m_profile;
    MappingConfig m_original;
    QLineEdit *m_nameEdit;
    QComboBox *m_remoteCombo;
    QComboBox *m_directionCombo;
    QComboBox *m_protocolCombo;
    QLineEdit *m_listenEdit;
    QLineEdit *m_targetEdit;
    QCheckBox *m_enabledCheck;
    QLabel *m_messageLabel;
    QPushButton *m_freePortButton;
    QDialogButtonBox *m_buttons;
    QString m_problem;
    quint16 m_suggestedPort = 0;
};

} // namespace wstunnel
