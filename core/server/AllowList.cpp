#include "AllowList.h"

#include "config/ForwardSpec.h"
#include "net/HostResolver.h"

namespace wstunnel {

namespace {

// An IPv4-mapped IPv6 address (from a dual-stack lookup) is judged as the IPv4 address it is.
QHostAddress normalized(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

} // namespace

bool AllowList::parseRule(const QString &text, Rule *rule, QString *error)
{
    const QString trimmed = text.trimmed();
    Rule r;
    QString endpoint = trimmed;
    if (endpoint.endsWith(QLatin1String("/udp"), Qt::CaseInsensitive)) {
        r.transport = ChannelTransport::Udp;
        endpoint.chop(4);
    } else if (endpoint.endsWith(QLatin1String("/tcp"), Qt::CaseInsensitive)) {
        endpoint.chop(4);
    }
    const qsizetype colon = endpoint.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0 || colon == endpoint.size() - 1) {
        *error = QStringLiteral("allow rule '%1' is not HOST:PORT (PORT may be '*'; add /udp "
                                "for UDP)")
                     .arg(text);
        return false;
    }
    QString host = endpoint.left(colon);
    const QString portText = endpoint.mid(colon + 1);
    if (portText != QLatin1String("*")) {
        bool ok = false;
        const uint port = portText.toUInt(&ok);
        if (!ok || port == 0 || port > 65535) {
            *error = QStringLiteral("allow rule '%1' has an invalid port '%2'").arg(text, portText);
            return false;
        }
        r.port = int(port);
    }
    if (host.contains(QLatin1Char(':')) && !host.startsWith(QLatin1Char('['))) {
        *error = QStringLiteral("allow rule '%1': write IPv6 addresses in brackets, e.g. [::1]:*")
                     .arg(text);
        return false;
    }
    if (host.contains(QLatin1Char('/'))) {
        const qsizetype slash = host.indexOf(QLatin1Char('/'));
        const QHostAddress network = HostResolver::parseLiteral(host.left(slash));
        bool ok = false;
        const int prefix = host.mid(slash + 1).toInt(&ok);
        const int maxPrefix = network.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128;
        if (network.isNull() || !ok || prefix < 0 || prefix > maxPrefix) {
            *error = QStringLiteral("allow rule '%1' has an invalid CIDR block").arg(text);
            return false;
        }
        r.network = network;
        r.prefixLength = prefix;
    } else if (const QHostAddress address = HostResolver::parseLiteral(host); !address.isNull()) {
        r.network = address;
        r.prefixLength = address.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128;
    } else if (host.isEmpty() || host == QLatin1String("*")) {
        r.network = QHostAddress(QHostAddress::AnyIPv6);
        r.prefixLength = 0;
        r.name = QStringLiteral("*");
    } else {
        r.name = host.toLower();
    }
    *rule = r;
    return true;
}

bool AllowList::addRule(const QString &text, QString *error)
{
    Rule rule;
    if (!parseRule(text, &rule, error))
        return false;
    m_rules.append(rule);
    return true;
}

void AllowList::addLoopbackDefaults()
{
    QString ignored;
    for (const QString &suffix : {QString(), QStringLiteral("/udp")}) {
        addRule(QStringLiteral("127.0.0.0/8:*") + suffix, &ignored);
        addRule(QStringLiteral("[::1]:*") + suffix, &ignored);
        addRule(QStringLiteral("localhost:*") + suffix, &ignored);
    }
}

bool AllowList::nameAllowed(const QString &host, quint16 port, ChannelTransport transport) const
{
    const QString name = host.toLower();
    for (const Rule &rule : m_rules) {
        if (rule.transport == transport && (rule.port < 0 || rule.port == port) &&
            (rule.name == name || rule.name == QLatin1String("*")))
            return true;
    }
    return false;
}

bool AllowList::anyAddressRuleFor(quint16 port, ChannelTransport transport) const
{
    for (const Rule &rule : m_rules) {
        if (rule.transport == transport && rule.prefixLength >= 0 &&
            (rule.port < 0 || rule.port == port))
            return true;
    }
    return false;
}

bool AllowList::addressAllowed(const QHostAddress &address, quint16 port,
                               ChannelTransport transport) const
{
    const QHostAddress candidate = normalized(address);
    for (const Rule &rule : m_rules) {
        if (rule.transport != transport || rule.prefixLength < 0 ||
            (rule.port >= 0 && rule.port != port))
            continue;
        if (rule.prefixLength == 0 && rule.name == QLatin1String("*"))
            return true;
        if (candidate.isInSubnet(rule.network, rule.prefixLength))
            return true;
    }
    return false;
}

void AllowList::resolve(const QString &host, quint16 port, ChannelTransport transport,
                        QObject *context, Callback done)
{
    const QString target =
        formatEndpoint(host, port) +
        (transport == ChannelTransport::Udp ? QStringLiteral("/udp") : QString());
    const bool byName = nameAllowed(host, port, transport);
    if (!byName && !anyAddressRuleFor(port, transport)) {
        done(TargetResolution{{},
                              port,
                              FailureCode::NotAllowed,
                              QStringLiteral("%1 is not in the allow-list").arg(target)});
        return;
    }
    HostResolver::resolve(
        host, context,
        [this, done, port, transport, byName, target](const QList<QHostAddress> &addresses,
                                                      const QString &error) {
            if (!error.isEmpty()) {
                done(TargetResolution{{}, port, FailureCode::Unreachable, error});
                return;
            }
            QList<QHostAddress> allowed;
            for (const QHostAddress &address : addresses) {
                if (byName || addressAllowed(address, port, transport))
                    allowed.append(address);
            }
            if (allowed.isEmpty()) {
                done(TargetResolution{{},
                                      port,
                                      FailureCode::NotAllowed,
                                      QStringLiteral("%1 is not in the allow-list").arg(target)});
                return;
            }
            done(TargetResolution{allowed, port, FailureCode::NotAllowed, QString()});
        });
}

} // namespace wstunnel
