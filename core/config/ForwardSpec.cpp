#include "ForwardSpec.h"

#include "net/HostResolver.h"

#include <QStringList>

namespace wstunnel {

namespace {

// Splits on ':' outside brackets and drops the brackets.
std::optional<QStringList> splitFields(const QString &text)
{
    QStringList fields;
    QString current;
    bool inBrackets = false;
    for (const QChar c : text) {
        if (c == QLatin1Char('[')) {
            if (inBrackets || !current.isEmpty())
                return std::nullopt;
            inBrackets = true;
        } else if (c == QLatin1Char(']')) {
            if (!inBrackets)
                return std::nullopt;
            inBrackets = false;
        } else if (c == QLatin1Char(':') && !inBrackets) {
            fields.append(current);
            current.clear();
        } else {
            current.append(c);
        }
    }
    if (inBrackets)
        return std::nullopt;
    fields.append(current);
    return fields;
}

bool parsePort(const QString &text, bool allowZero, quint16 *port)
{
    bool ok = false;
    const uint value = text.toUInt(&ok);
    if (!ok || value > 65535 || (value == 0 && !allowZero))
        return false;
    *port = quint16(value);
    return true;
}

} // namespace

QString formatEndpoint(const QString &host, quint16 port)
{
    // One arg() call: chained ones would read a '%2' in the host (an IPv6 zone) as a placeholder.
    const QString portText = QString::number(port);
    if (host.contains(QLatin1Char(':')))
        return QStringLiteral("[%1]:%2").arg(host, portText);
    return QStringLiteral("%1:%2").arg(host, portText);
}

bool parseEndpoint(const QString &text, QString *host, quint16 *port, QString *error)
{
    const auto fields = splitFields(text.trimmed());
    if (!fields || fields->size() > 2 || !parsePort(fields->last(), true, port)) {
        *error = QStringLiteral("'%1' is not [HOST:]PORT").arg(text);
        return false;
    }
    if (fields->size() == 2)
        *host = fields->first();
    return true;
}

namespace {

std::optional<ForwardSpec> parseDynamic(const QString &text, QString *error)
{
    ForwardSpec spec;
    spec.direction = ForwardSpec::Direction::Dynamic;
    QString bind;
    if (!parseEndpoint(text, &bind, &spec.bindPort, error)) {
        *error = QStringLiteral("-D '%1' is not [BIND:]PORT").arg(text);
        return std::nullopt;
    }
    if (bind == QLatin1String("*"))
        spec.bindHost = QStringLiteral("0.0.0.0");
    else if (!bind.isEmpty() && bind.compare(QLatin1String("localhost"), Qt::CaseInsensitive) != 0)
        spec.bindHost = bind;
    return spec;
}

} // namespace

std::optional<ForwardSpec> ForwardSpec::parse(const QString &text, Direction direction,
                                              QString *error)
{
    if (direction == Direction::Dynamic)
        return parseDynamic(text, error);
    const QString flag =
        direction == Direction::Local ? QStringLiteral("-L") : QStringLiteral("-R");
    QString mapping = text.trimmed();
    ChannelTransport transport = ChannelTransport::Tcp;
    if (mapping.endsWith(QLatin1String("/udp"), Qt::CaseInsensitive)) {
        transport = ChannelTransport::Udp;
        mapping.chop(4);
    } else if (mapping.endsWith(QLatin1String("/tcp"), Qt::CaseInsensitive)) {
        mapping.chop(4);
    }
    const auto fields = splitFields(mapping);
    if (!fields || (fields->size() != 3 && fields->size() != 4)) {
        *error = QStringLiteral("%1 '%2' is not [BIND:]PORT:HOST:HOSTPORT").arg(flag, text);
        return std::nullopt;
    }
    ForwardSpec spec;
    spec.direction = direction;
    spec.transport = transport;
    const int offset = fields->size() == 4 ? 1 : 0;
    if (offset == 1) {
        const QString bind = fields->at(0);
        if (bind.isEmpty() || bind == QLatin1String("*"))
            spec.bindHost = kAllInterfaces;
        else if (bind.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
            spec.bindHost = QStringLiteral("127.0.0.1");
        else
            spec.bindHost = bind;
    }
    if (!parsePort(fields->at(offset), true, &spec.bindPort)) {
        *error = QStringLiteral("%1 '%2': '%3' is not a port (0-65535)")
                     .arg(flag, text, fields->at(offset));
        return std::nullopt;
    }
    spec.targetHost = fields->at(offset + 1);
    if (spec.targetHost.isEmpty()) {
        *error = QStringLiteral("%1 '%2' names no target host").arg(flag, text);
        return std::nullopt;
    }
    if (!parsePort(fields->at(offset + 2), false, &spec.targetPort)) {
        *error = QStringLiteral("%1 '%2': '%3' is not a target port (1-65535)")
                     .arg(flag, text, fields->at(offset + 2));
        return std::nullopt;
    }
    return spec;
}

QString ForwardSpec::bindEndpoint() const
{
    return formatEndpoint(bindHost, bindPort);
}

QHostAddress ForwardSpec::bindAddress() const
{
    if (bindHost == kAllInterfaces)
        return QHostAddress(QHostAddress::Any);
    return HostResolver::parseLiteral(bindHost);
}

QString ForwardSpec::targetEndpoint() const
{
    return formatEndpoint(targetHost, targetPort);
}

QString ForwardSpec::transportSuffix() const
{
    return transport == ChannelTransport::Udp ? QStringLiteral("/udp") : QString();
}

QString ForwardSpec::toString() const
{
    if (direction == Direction::Dynamic)
        return bindEndpoint();
    return QStringLiteral("%1:%2%3").arg(bindEndpoint(), targetEndpoint(), transportSuffix());
}

bool ForwardSpec::operator==(const ForwardSpec &other) const
{
    return direction == other.direction && bindHost == other.bindHost &&
           bindPort == other.bindPort && targetHost == other.targetHost &&
           targetPort == other.targetPort && transport == other.transport;
}

} // namespace wstunnel
