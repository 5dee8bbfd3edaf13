#include "HeadlessOptions.h"

#include "client/ProxyResolver.h"
#include "config/NetworkOptionValues.h"
#include "net/TlsConfig.h"

#include <QCommandLineParser>
#include <QFile>

namespace wstunnel {

namespace {

std::optional<QByteArray> readToken(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read token file %1: %2").arg(path, file.errorString());
        return std::nullopt;
    }
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const QByteArray token = line.trimmed();
        if (!token.isEmpty() && !token.startsWith('#'))
            return token;
    }
    *error = QStringLiteral("token file %1 holds no token").arg(path);
    return std::nullopt;
}

bool applyNetworkOptions(const QCommandLineParser &parser, ClientSettings *client, QString *error)
{
    client->caFile = parser.value(QStringLiteral("ca-file"));
    client->clientCertFile = parser.value(QStringLiteral("client-cert"));
    client->clientKeyFile = parser.value(QStringLiteral("client-key"));
    if (parser.isSet(QStringLiteral("pin-sha256"))) {
        QString text = parser.value(QStringLiteral("pin-sha256")).trimmed();
        if (text.startsWith(QLatin1String("sha256//")))
            text.remove(0, 8);
        const auto decoded = QByteArray::fromBase64Encoding(
            text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded || decoded.decoded.size() != 32) {
            *error = QStringLiteral("--pin-sha256 '%1' is not a base64 SHA-256 (44 characters)")
                         .arg(text);
            return false;
        }
        client->pinSha256 = decoded.decoded.toBase64();
    }
    const bool secure = client->url.scheme() == QLatin1String("wss");
    if (!secure && (!client->caFile.isEmpty() || !client->pinSha256.isEmpty() ||
                    !client->clientCertFile.isEmpty() || !client->clientKeyFile.isEmpty())) {
        *error = QStringLiteral("--ca-file, --pin-sha256 and --client-cert/--client-key need a "
                                "wss:// remote");
        return false;
    }
    if (secure && !TlsConfig::client(*client, error))
        return false;
    if (parser.isSet(QStringLiteral("proxy"))) {
        const QString text = parser.value(QStringLiteral("proxy"));
        if (text == QLatin1String("none")) {
            client->proxyMode = ClientSettings::ProxyMode::None;
        } else {
            if (!ProxyResolver::parse(text, error)) {
                *error = QStringLiteral("--proxy: %1").arg(*error);
                return false;
            }
            client->proxyMode = ClientSettings::ProxyMode::Manual;
            client->proxyUrl =
                QUrl(text.contains(QLatin1String("://")) ? text : QStringLiteral("http://") + text);
        }
    }
    for (const QString &text : parser.values(QStringLiteral("header"))) {
        const auto header = NetworkOptionValues::parseHeader(text, error);
        if (!header)
            return false;
        client->headers.append(*header);
    }
    if (parser.isSet(QStringLiteral("keepalive"))) {
        const auto interval =
            NetworkOptionValues::parseKeepAlive(parser.value(QStringLiteral("keepalive")), error);
        if (!interval)
            return false;
        client->limits.keepAliveMs = *interval;
    }
    if (parser.isSet(QStringLiteral("udp-timeout"))) {
        const auto timeout = NetworkOptionValues::parseUdpTimeout(
            parser.value(QStringLiteral("udp-timeout")), error);
        if (!timeout)
            return false;
        client->limits.datagramIdleTimeoutMs = *timeout;
    }
    return true;
}

} // namespace

std::optional<HeadlessOptions> HeadlessOptions::parse(const QStringList &arguments, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("WSTunnel carries TCP connections and UDP flows over one WebSocket to a "
                       "wstunnel-remote. Without --headless it opens the mapping editor."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption headless(
        QStringLiteral("headless"), QStringLiteral("Run without a window, from the command line."));
    const QCommandLineOption remote(QStringLiteral("remote"),
                                    QStringLiteral("URL of the wstunnel-remote (ws:// or wss://)."),
                                    QStringLiteral("URL"));
    const QCommandLineOption tokenFile(QStringLiteral("token-file"),
                                       QStringLiteral("File whose first line is the token; "
                                                      "WSTUNNEL_TOKEN is used otherwise."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption local(QStringLiteral("L"),
                                   QStringLiteral("Local forward [BIND:]PORT:HOST:HOSTPORT: "
                                                  "BIND:PORT here reaches HOST:HOSTPORT on the "
                                                  "remote side; append /udp for UDP. "
                                                  "Repeatable."),
                                   QStringLiteral("SPEC"));
    const QCommandLineOption reverse(QStringLiteral("R"),
                                     QStringLiteral("Reverse forward [BIND:]PORT:HOST:HOSTPORT: "
                                                    "BIND:PORT on the remote reaches HOST:HOSTPORT "
                                                    "here; append /udp for UDP. Repeatable."),
                                     QStringLiteral("SPEC"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Name announced to the remote."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption profile(QStringLiteral("profile"),
                                     QStringLiteral("With --headless: run the mappings of a "
                                                    "profile saved by the desktop app."),
                                     QStringLiteral("FILE"));
    const QCommandLineOption minimized(QStringLiteral("minimized"),
                                       QStringLiteral("Start with the window hidden in the tray."));
    parser.addOptions({headless, remote, tokenFile, local, reverse, name});
    addVerbosityOptions(parser);
    parser.addOptions({profile, minimized});
    const QCommandLineOption caFile(
        QStringLiteral("ca-file"),
        QStringLiteral("wss: trust the CA certificates in this PEM file "
                       "instead of the system's."),
        QStringLiteral("FILE"));
    const QCommandLineOption pin(QStringLiteral("pin-sha256"),
                                 QStringLiteral("wss: also require this public key (base64 SHA-256 "
                                                "of its SubjectPublicKeyInfo) in the server's "
                                                "chain."),
                                 QStringLiteral("BASE64"));
    const QCommandLineOption clientCert(QStringLiteral("client-cert"),
                                        QStringLiteral("wss: offer this certificate (PEM, may hold "
                                                       "the chain) for mutual TLS."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption clientKey(QStringLiteral("client-key"),
                                       QStringLiteral("The PEM private key of --client-cert."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption proxy(QStringLiteral("proxy"),
                                   QStringLiteral("HTTP proxy http://[USER:PASS@]HOST:PORT, or "
                                                  "'none'. Default: https_proxy/http_proxy/"
                                                  "no_proxy, then the system settings."),
                                   QStringLiteral("URL"));
    const QCommandLineOption header(QStringLiteral("header"),
                                    QStringLiteral("Add 'Name: value' to the upgrade request, for "
                                                   "gateways that want it. Repeatable."),
                                    QStringLiteral("HEADER"));
    const QCommandLineOption keepAlive(QStringLiteral("keepalive"),
                                       QStringLiteral("Seconds between WebSocket pings that keep "
                                                      "an idle session open through proxies "
                                                      "(default 20)."),
                                       QStringLiteral("SECONDS"));
    const QCommandLineOption udpTimeout(QStringLiteral("udp-timeout"),
                                        QStringLiteral("Seconds a UDP flow lives without a "
                                                       "datagram either way (default 60)."),
                                        QStringLiteral("SECONDS"));
    parser.addOptions({caFile, pin, clientCert, clientKey, proxy, header, keepAlive, udpTimeout});
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        *error =
            QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first());
        return std::nullopt;
    }

    HeadlessOptions options;
    options.headless = parser.isSet(headless);
    options.verbosity = verbosityOf(parser);
    options.minimized = parser.isSet(minimized);
    if (!options.headless)
        return options;
    if (parser.isSet(profile)) {
        options.profilePath = parser.value(profile);
        return options;
    }

    if (!parser.isSet(remote)) {
        *error = QStringLiteral("--headless needs --remote URL");
        return std::nullopt;
    }
    options.client.url = QUrl(parser.value(remote), QUrl::StrictMode);
    const QString scheme = options.client.url.scheme();
    if (!options.client.url.isValid() || options.client.url.host().isEmpty() ||
        (scheme != QLatin1String("ws") && scheme != QLatin1String("wss"))) {
        *error =
            QStringLiteral("--remote '%1' is not a ws:// or wss:// URL").arg(parser.value(remote));
        return std::nullopt;
    }
    if (parser.isSet(tokenFile)) {
        const auto token = readToken(parser.value(tokenFile), error);
        if (!token)
            return std::nullopt;
        options.client.token = *token;
    } else {
        options.client.token = qgetenv("WSTUNNEL_TOKEN").trimmed();
    }
    if (options.client.token.isEmpty()) {
        *error = QStringLiteral("no token: give --token-file FILE or set WSTUNNEL_TOKEN");
        return std::nullopt;
    }
    if (parser.isSet(name))
        options.client.name = parser.value(name);
    if (!applyNetworkOptions(parser, &options.client, error))
        return std::nullopt;
    for (const QString &text : parser.values(local)) {
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Local, error);
        if (!spec)
            return std::nullopt;
        options.forwards.append(*spec);
    }
    for (const QString &text : parser.values(reverse)) {
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Reverse, error);
        if (!spec)
            return std::nullopt;
        options.forwards.append(*spec);
    }
    if (options.forwards.isEmpty()) {
        *error = QStringLiteral("--headless needs at least one -L or -R forward");
        return std::nullopt;
    }
    return options;
}

} // namespace wstunnel
