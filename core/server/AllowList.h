#pragma once

#include "session/TargetPolicy.h"

#include <QHostAddress>
#include <QList>
#include <QString>
#include <QStringList>

namespace wstunnel {

// The targets a server lets its peers reach. A rule is HOST:PORT, where PORT is a number or '*'
// and HOST is a name (matched as written, case-insensitively), an address, or a CIDR block
// (10.0.0.0/8, [fd00::]/8). A rule admits TCP only; HOST:PORT/udp admits UDP only. Names are
// resolved only after a rule could match them, and an address rule admits a name only through
// the addresses it resolves to.
class AllowList : public TargetPolicy
{
public:
    struct Rule
    {
        QString name;         // set for name rules
        QHostAddress network; // set for address and CIDR rules
        int prefixLength = -1;
        int port = -1; // -1: any port
        ChannelTransport transport = ChannelTransport::Tcp;
    };

    bool addRule(const QString &rule, QString *error);
    void addLoopbackDefaults();
    bool isEmpty() const { return m_rules.isEmpty(); }

    void resolve(const QString &host, quint16 port, ChannelTransport transport, QObject *context,
                 Callback done) override;

    static bool parseRule(const QString &text, Rule *rule, QString *error);

private:
    bool nameAllowed(const QString &host, quint16 port, ChannelTransport transport) const;
    bool addressAllowed(const QHostAddress &address, quint16 port,
                        ChannelTransport transport) const;
    bool anyAddressRuleFor(quint16 port, ChannelTransport transport) const;

    QList<Rule> m_rules;
};

} // namespace wstunnel
