#include "CommandLineExport.h"

#include <QRegularExpression>

namespace wstunnel {

QString CommandLineExport::forMapping(const MappingConfig &mapping, const RemoteConfig &remote,
                                      const QString &tokenFile)
{
    if (remote.builtIn)
        return QString();
    QStringList words = {QStringLiteral("wstunnel"), QStringLiteral("--headless"),
                         QStringLiteral("--remote"), quoted(remote.url.toString())};
    if (!tokenFile.isEmpty()) {
        // A leading ~ stays unquoted, so that the shell expands it.
        const bool home = tokenFile.startsWith(QLatin1String("~/"));
        words << QStringLiteral("--token-file")
              << (home ? QStringLiteral("~/") + quoted(tokenFile.mid(2)) : quoted(tokenFile));
    }
    if (!remote.agent.isEmpty())
        words << QStringLiteral("--agent") << quoted(remote.agent);
    if (!remote.caFile.isEmpty())
        words << QStringLiteral("--ca-file") << quoted(remote.caFile);
    if (!remote.pinSha256.isEmpty())
        words << QStringLiteral("--pin-sha256") << quoted(QString::fromLatin1(remote.pinSha256));
    if (!remote.clientCertFile.isEmpty())
        words << QStringLiteral("--client-cert") << quoted(remote.clientCertFile);
    if (!remote.clientKeyFile.isEmpty())
        words << QStringLiteral("--client-key") << quoted(remote.clientKeyFile);
    if (remote.proxyMode == ConnectionSettings::ProxyMode::None) {
        words << QStringLiteral("--proxy") << QStringLiteral("none");
    } else if (remote.proxyMode == ConnectionSettings::ProxyMode::Manual) {
        QUrl proxy = remote.proxyUrl;
        proxy.setPassword(QString());
        words << QStringLiteral("--proxy") << quoted(proxy.toString());
    }
    for (const auto &header : remote.headers)
        words << QStringLiteral("--header")
              << quoted(QString::fromLatin1(header.first + ": " + header.second));
    words << (mapping.direction == ForwardSpec::Direction::Local ? QStringLiteral("-L")
                                                                 : QStringLiteral("-R"))
          << quoted(mapping.toSpec().toString());
    return words.join(QLatin1Char(' '));
}

QString CommandLineExport::quoted(const QString &argument)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    if (plain.match(argument).hasMatch())
        return argument;
    QString escaped = argument;
    escaped.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + escaped + QLatin1Char('\'');
}

} // namespace wstunnel
