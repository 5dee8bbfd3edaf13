#include "ClientCommandLine.h"

#include "CommandLineErrors.h"

#include "client/ProxyResolver.h"
#include "config/NetworkOptionValues.h"
#include "net/TlsConfig.h"
#include "server/TokenFile.h"

#include <QCommandLineParser>
#include <QRegularExpression>

namespace wstunnel {

void ClientCommandLine::addNetworkOptions(QCommandLineParser &parser)
{
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
    const QCommandLineOption trustFingerprint(
        QStringLiteral("trust-fingerprint"),
        QStringLiteral("wss: trust the server certificate with this SHA-256 fingerprint (hex as "
                       "`openssl x509 -fingerprint -sha256` prints it, colons optional) even if "
                       "it fails verification; for a certificate you have checked."),
        QStringLiteral("SHA256"));
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
    const QCommandLineOption resumeTimeout(
        QStringLiteral("resume-timeout"),
        QStringLiteral("Seconds connections are held when the WebSocket drops, while the session "
                       "is resumed over a new one (default 120; 0: no resuming)."),
        QStringLiteral("SECONDS"));
    parser.addOptions({caFile, pin, trustFingerprint, clientCert, clientKey, proxy, header,
                       keepAlive, udpTimeout, resumeTimeout});
    addWindowOptions(parser);
}

void ClientCommandLine::addWindowOptions(QCommandLineParser &parser)
{
    const QCommandLineOption maxWindow(
        QStringLiteral("max-window"),
        QStringLiteral("MiB a connection's receive window may grow to while its reader keeps up "
                       "with a long round trip (default 16; 2 or less: fixed 2 MiB windows)."),
        QStringLiteral("MIB"));
    const QCommandLineOption windowBudget(
        QStringLiteral("window-budget"),
        QStringLiteral("MiB all connections of one session may grow their receive windows by, "
                       "together; they share it evenly (default 32)."),
        QStringLiteral("MIB"));
    const QCommandLineOption processWindowBudget(
        QStringLiteral("process-window-budget"),
        QStringLiteral("The same for every session of this process together (default 128)."),
        QStringLiteral("MIB"));
    parser.addOptions({maxWindow, windowBudget, processWindowBudget});
}

bool ClientCommandLine::applyWindowOptions(const QCommandLineParser &parser, SessionLimits *limits,
                                           QString *error)
{
    for (const char *option : {"max-window", "window-budget", "process-window-budget"}) {
        const QString name = QLatin1String(option);
        if (!parser.isSet(name))
            continue;
        const auto bytes = NetworkOptionValues::parseWindowSize(QStringLiteral("--") + name,
                                                                parser.value(name), error);
        if (!bytes)
            return false;
        if (name == QLatin1String("max-window"))
            limits->maxReceiveWindow = quint32(*bytes);
        else if (name == QLatin1String("window-budget"))
            limits->sessionWindowBudget = *bytes;
        else
            limits->processWindowBudget = *bytes;
    }
    return true;
}

std::optional<QByteArray> ClientCommandLine::readToken(const QString &path, QString *error)
{
    const std::optional<QList<TokenFileLine>> lines = readTokenFile(path, error);
    if (!lines)
        return std::nullopt;
    return lines->first().text;
}

bool ClientCommandLine::applyNetworkOptions(const QCommandLineParser &parser,
                                            ClientSettings *client, QString *error)
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
    if (parser.isSet(QStringLiteral("trust-fingerprint"))) {
        const QString text = parser.value(QStringLiteral("trust-fingerprint")).trimmed();
        QString hex = text;
        hex.remove(QLatin1Char(':'));
        static const QRegularExpression sha256Hex(QStringLiteral("^[0-9A-Fa-f]{64}$"));
        if (!sha256Hex.match(hex).hasMatch()) {
            *error = QStringLiteral("--trust-fingerprint '%1' is not a SHA-256 fingerprint (64 "
                                    "hex digits, colons optional)")
                         .arg(text);
            return false;
        }
        client->trustedCertificateSha256 = hex.toLatin1();
    }
    const bool secure = client->url.scheme() == QLatin1String("wss");
    if (!secure && (!client->caFile.isEmpty() || !client->pinSha256.isEmpty() ||
                    !client->trustedCertificateSha256.isEmpty() ||
                    !client->clientCertFile.isEmpty() || !client->clientKeyFile.isEmpty())) {
        *error = QStringLiteral("--ca-file, --pin-sha256, --trust-fingerprint and "
                                "--client-cert/--client-key need a wss:// remote");
        return false;
    }
    TunnelError tlsError;
    if (secure && !TlsConfig::client(*client, &tlsError)) {
        *error = CommandLineErrors::describe(tlsError);
        return false;
    }
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
    if (parser.isSet(QStringLiteral("resume-timeout"))) {
        const auto timeout = NetworkOptionValues::parseResumeTimeout(
            parser.value(QStringLiteral("resume-timeout")), error);
        if (!timeout)
            return false;
        client->limits.resumeTimeoutMs = *timeout;
    }
    return applyWindowOptions(parser, &client->limits, error);
}

} // namespace wstunnel
