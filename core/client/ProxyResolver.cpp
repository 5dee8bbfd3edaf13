#include "ProxyResolver.h"

#include "Logging.h"
#include "config/ForwardSpec.h"

#include <QNetworkProxyFactory>
#include <QNetworkProxyQuery>

namespace wstunnel {

namespace {

QString environment(const char *lower, const char *upper)
{
    const QString value = qEnvironmentVariable(lower);
    return value.isEmpty() ? qEnvironmentVariable(upper) : value;
}

} // namespace

std::optional<QNetworkProxy> ProxyResolver::parse(const QString &text, QString *error)
{
    // Environment variables often leave out the scheme.
    const QString withScheme =
        text.contains(QLatin1String("://")) ? text : QStringLiteral("http://") + text;
    const QUrl url(withScheme);
    if (!url.isValid() || url.host().isEmpty() || url.scheme() != QLatin1String("http") ||
        url.port() <= 0) {
        *error = QStringLiteral("proxy '%1' is not http://[USER:PASS@]HOST:PORT")
                     .arg(url.toDisplayString(QUrl::RemovePassword));
        return std::nullopt;
    }
    return QNetworkProxy(QNetworkProxy::HttpProxy, url.host(), quint16(url.port()),
                         url.userName(QUrl::FullyDecoded), url.password(QUrl::FullyDecoded));
}

QNetworkProxy ProxyResolver::proxyFor(const ClientSettings &settings)
{
    switch (settings.proxyMode) {
    case ClientSettings::ProxyMode::None:
        return QNetworkProxy(QNetworkProxy::NoProxy);
    case ClientSettings::ProxyMode::Manual: {
        QString error;
        if (const auto proxy = parse(settings.proxyUrl.toString(QUrl::FullyEncoded), &error))
            return *proxy;
        qCWarning(lcClient).noquote() << error << QStringLiteral("; connecting directly");
        return QNetworkProxy(QNetworkProxy::NoProxy);
    }
    case ClientSettings::ProxyMode::System:
        break;
    }
    const QString host = settings.url.host();
    const bool secure = settings.url.scheme() == QLatin1String("wss");
    QString fromEnvironment = secure ? environment("https_proxy", "HTTPS_PROXY")
                                     : environment("http_proxy", "HTTP_PROXY");
    if (fromEnvironment.isEmpty())
        fromEnvironment = environment("all_proxy", "ALL_PROXY");
    if (!fromEnvironment.isEmpty()) {
        if (bypasses(host, environment("no_proxy", "NO_PROXY")))
            return QNetworkProxy(QNetworkProxy::NoProxy);
        QString error;
        if (const auto proxy = parse(fromEnvironment, &error))
            return *proxy;
        qCWarning(lcClient).noquote()
            << QStringLiteral("ignoring the proxy environment: %1").arg(error);
        return QNetworkProxy(QNetworkProxy::NoProxy);
    }
    QUrl queryUrl = settings.url;
    queryUrl.setScheme(secure ? QStringLiteral("https") : QStringLiteral("http"));
    const QList<QNetworkProxy> system =
        QNetworkProxyFactory::systemProxyForQuery(QNetworkProxyQuery(queryUrl));
    for (const QNetworkProxy &proxy : system) {
        if (proxy.type() == QNetworkProxy::HttpProxy || proxy.type() == QNetworkProxy::NoProxy)
            return proxy;
    }
    return QNetworkProxy(QNetworkProxy::NoProxy);
}

QString ProxyResolver::describe(const QNetworkProxy &proxy)
{
    return QStringLiteral("http://") + formatEndpoint(proxy.hostName(), proxy.port());
}

bool ProxyResolver::bypasses(const QString &host, const QString &noProxy)
{
    const QString name = host.toLower();
    const QStringList entries = noProxy.toLower().split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (QString entry : entries) {
        entry = entry.trimmed();
        if (entry == QLatin1String("*"))
            return true;
        if (entry.startsWith(QLatin1Char('.')))
            entry.remove(0, 1);
        if (entry.isEmpty())
            continue;
        if (name == entry || name.endsWith(QLatin1Char('.') + entry))
            return true;
    }
    return false;
}

} // namespace wstunnel
