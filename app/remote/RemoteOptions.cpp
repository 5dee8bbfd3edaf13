#include "RemoteOptions.h"

#include "common/ClientCommandLine.h"
#include "common/HelpOptions.h"
#include "config/ForwardSpec.h"
#include "config/NetworkOptionValues.h"
#include "hub/AgentName.h"
#include "hub/HubTokenFile.h"
#include "net/TlsConfig.h"

#include <QCommandLineParser>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>

namespace wstunnel {

namespace {

bool applyListen(const QString &text, ServerSettings *server, QString *error)
{
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 0;
    if (!parseEndpoint(text, &host, &port, error)) {
        *error = QStringLiteral("--listen: %1").arg(*error);
        return false;
    }
    if (host == QLatin1String("localhost"))
        host = QStringLiteral("127.0.0.1");
    if (host == QLatin1String("*") || host.isEmpty())
        host = QStringLiteral("0.0.0.0");
    if (!server->address.setAddress(host)) {
        *error = QStringLiteral("--listen: '%1' is not an IP address").arg(host);
        return false;
    }
    server->port = port;
    return true;
}

// [BIND:]PORT:AGENT:HOST:HOSTPORT, IPv6 addresses in brackets.
std::optional<HubServer::Publication> parsePublication(const QString &text, QString *error)
{
    static const QRegularExpression pattern(QStringLiteral(
        R"(^(?:(\[[^\]]+\]|[^:\[\]]+):)?(\d+):([^:]+):(\[[^\]]+\]|[^:\[\]]+):(\d+)$)"));
    const QRegularExpressionMatch match = pattern.match(text);
    HubServer::Publication publication;
    bool portOk = false;
    bool hostPortOk = false;
    if (match.hasMatch()) {
        const uint port = match.captured(2).toUInt(&portOk);
        const uint hostPort = match.captured(5).toUInt(&hostPortOk);
        portOk = portOk && port <= 65535;
        hostPortOk = hostPortOk && hostPort > 0 && hostPort <= 65535;
        publication.port = quint16(port);
        publication.hostPort = quint16(hostPort);
    }
    if (!portOk || !hostPortOk) {
        *error = QStringLiteral("--publish '%1' is not [BIND:]PORT:AGENT:HOST:HOSTPORT").arg(text);
        return std::nullopt;
    }
    QString bind = match.captured(1);
    if (bind.startsWith(QLatin1Char('[')))
        bind = bind.mid(1, bind.size() - 2);
    if (!bind.isEmpty() && !publication.bindAddress.setAddress(bind == QLatin1String("localhost")
                                                                   ? QStringLiteral("127.0.0.1")
                                                                   : bind)) {
        *error = QStringLiteral("--publish '%1': '%2' is not an IP address").arg(text, bind);
        return std::nullopt;
    }
    publication.agent = match.captured(3);
    if (!AgentName::isValid(publication.agent)) {
        *error = QStringLiteral("--publish '%1': '%2' is not an agent name")
                     .arg(text, publication.agent);
        return std::nullopt;
    }
    publication.host = match.captured(4);
    if (publication.host.startsWith(QLatin1Char('[')))
        publication.host = publication.host.mid(1, publication.host.size() - 2);
    return publication;
}

std::optional<QJsonObject> readConfig(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read config %1: %2").arg(path, file.errorString());
        return std::nullopt;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        *error = QStringLiteral("config %1 is not a JSON object: %2")
                     .arg(path, parseError.errorString());
        return std::nullopt;
    }
    const QJsonObject object = document.object();
    enum class Kind { Text, TextList, Number, Seconds };
    static const QList<QPair<QString, Kind>> settings = {
        {QStringLiteral("listen"), Kind::Text},
        {QStringLiteral("tokenFile"), Kind::Text},
        {QStringLiteral("allow"), Kind::TextList},
        {QStringLiteral("path"), Kind::Text},
        {QStringLiteral("name"), Kind::Text},
        {QStringLiteral("maxSessions"), Kind::Number},
        {QStringLiteral("tlsCert"), Kind::Text},
        {QStringLiteral("tlsKey"), Kind::Text},
        {QStringLiteral("clientCa"), Kind::Text},
        {QStringLiteral("keepalive"), Kind::Seconds},
        {QStringLiteral("udpTimeout"), Kind::Seconds},
        {QStringLiteral("resumeTimeout"), Kind::Seconds},
        {QStringLiteral("metrics"), Kind::Text},
    };
    for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
        const auto setting = std::find_if(settings.cbegin(), settings.cend(),
                                          [&](const auto &s) { return s.first == it.key(); });
        if (setting == settings.cend()) {
            QStringList known;
            for (const auto &s : settings)
                known.append(s.first);
            *error = QStringLiteral("config %1: unknown setting '%2' (known: %3)")
                         .arg(path, it.key(), known.join(QStringLiteral(", ")));
            return std::nullopt;
        }
        // A value of the wrong type would otherwise silently fall back to the default.
        const QJsonValue value = it.value();
        bool ok = false;
        QString expected;
        switch (setting->second) {
        case Kind::Text:
            ok = value.isString();
            expected = QStringLiteral("a string");
            break;
        case Kind::TextList: {
            const QJsonArray items = value.toArray();
            ok = value.isArray() && std::all_of(items.begin(), items.end(),
                                                [](const QJsonValue &v) { return v.isString(); });
            expected = QStringLiteral("a list of strings");
            break;
        }
        case Kind::Number:
            ok = value.isDouble();
            expected = QStringLiteral("a number");
            break;
        case Kind::Seconds:
            ok = value.isDouble() || value.isString();
            expected = QStringLiteral("a number of seconds");
            break;
        }
        if (!ok) {
            *error = QStringLiteral("config %1: '%2' must be %3").arg(path, it.key(), expected);
            return std::nullopt;
        }
    }
    return object;
}

} // namespace

std::optional<RemoteOptions> RemoteOptions::parse(const QStringList &arguments, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "The dev-server end of WSTunnel: accepts desktops over one WebSocket each and connects "
        "their channels to the targets the allow-list permits."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        QStringLiteral("role"),
        QStringLiteral("serve (default): accept desktops directly. hub: relay desktops to agents "
                       "by name. agent: dial a hub and serve through it (first argument; see "
                       "'wstunnel-remote agent --help')."),
        QStringLiteral("[serve|hub]"));
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("Address and port to accept desktops on; port 0 "
                                                   "picks a free one (default 127.0.0.1:8080)."),
                                    QStringLiteral("ADDR:PORT"));
    const QCommandLineOption tokenFile(
        QStringLiteral("token-file"),
        QStringLiteral("File with accepted tokens, one per line, '#' starts a comment. "
                       "WSTUNNEL_TOKEN adds one more."),
        QStringLiteral("FILE"));
    const QCommandLineOption allow(
        QStringLiteral("allow"),
        QStringLiteral("Target desktops may reach: HOST:PORT, PORT may be "
                       "'*', HOST may be a CIDR block; HOST:PORT/udp for UDP (a plain rule is "
                       "TCP only). Repeatable. Default: loopback only."),
        QStringLiteral("HOST:PORT"));
    const QCommandLineOption config(QStringLiteral("config"),
                                    QStringLiteral("JSON file with the same settings (listen, "
                                                   "tokenFile, allow, path, name, maxSessions, "
                                                   "tlsCert, tlsKey, clientCa, keepalive, "
                                                   "udpTimeout, resumeTimeout); the command "
                                                   "line wins."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption path(
        QStringLiteral("path"), QStringLiteral("URL path the tunnel is served under (default /)."),
        QStringLiteral("PATH"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Name this server announces to desktops."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption maxSessions(
        QStringLiteral("max-sessions"),
        QStringLiteral("Most desktops served at once (default 64)."), QStringLiteral("N"));
    const QCommandLineOption tlsCert(QStringLiteral("tls-cert"),
                                     QStringLiteral("Serve wss:// with this PEM certificate (the "
                                                    "file may hold the chain). Reread on SIGHUP."),
                                     QStringLiteral("FILE"));
    const QCommandLineOption tlsKey(QStringLiteral("tls-key"),
                                    QStringLiteral("The PEM private key of --tls-cert."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption clientCa(QStringLiteral("client-ca"),
                                      QStringLiteral("Require client certificates issued by the CA "
                                                     "in this PEM file (mutual TLS)."),
                                      QStringLiteral("FILE"));
    const QCommandLineOption keepAlive(QStringLiteral("keepalive"),
                                       QStringLiteral("Seconds between WebSocket pings; a session "
                                                      "silent for three intervals ends (default "
                                                      "20)."),
                                       QStringLiteral("SECONDS"));
    const QCommandLineOption udpTimeout(QStringLiteral("udp-timeout"),
                                        QStringLiteral("Seconds a UDP flow lives without a "
                                                       "datagram either way (default 60)."),
                                        QStringLiteral("SECONDS"));
    const QCommandLineOption resumeTimeout(
        QStringLiteral("resume-timeout"),
        QStringLiteral("Seconds a session whose WebSocket dropped holds its connections for the "
                       "desktop to resume it (default 120; 0: no resuming)."),
        QStringLiteral("SECONDS"));
    const QCommandLineOption agentTokenFile(
        QStringLiteral("agent-token-file"),
        QStringLiteral("hub: file with agent tokens, a line 'TOKEN NAME': that token may register "
                       "agent NAME only ('*': any name). A --token-file line of a hub may add "
                       "the agent names (patterns with '*') its desktops may reach."),
        QStringLiteral("FILE"));
    const QCommandLineOption metrics(
        QStringLiteral("metrics"),
        QStringLiteral("Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR defaults to "
                       "127.0.0.1; never the tunnel's port)."),
        QStringLiteral("[ADDR:]PORT"));
    const QCommandLineOption publish(
        QStringLiteral("publish"),
        QStringLiteral("hub: TCP clients of [BIND:]PORT on the hub reach HOST:HOSTPORT through "
                       "the active agent AGENT; BIND defaults to 127.0.0.1. Repeatable."),
        QStringLiteral("[BIND:]PORT:AGENT:HOST:HOSTPORT"));
    parser.addOptions({listen, tokenFile, allow, config, path, name, maxSessions, tlsCert, tlsKey,
                       clientCa, keepAlive, udpTimeout, resumeTimeout, agentTokenFile, publish,
                       metrics});
    ClientCommandLine::addWindowOptions(parser);
    addVerbosityOptions(parser);
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    HelpOptions::handle(parser, arguments);
    const QStringList positional = parser.positionalArguments();
    const QString role = positional.value(0, QStringLiteral("serve"));
    if (positional.size() == 1 && role == QLatin1String("agent")) {
        *error = QStringLiteral("give the role agent first: wstunnel-remote agent --hub URL --name "
                                "NAME ...");
        return std::nullopt;
    }
    if (positional.size() > 1 || (role != QLatin1String("serve") && role != QLatin1String("hub"))) {
        *error = QStringLiteral("unknown role '%1' (this version knows: serve, hub, agent)")
                     .arg(positional.join(QLatin1Char(' ')));
        return std::nullopt;
    }

    RemoteOptions options;
    options.role = role == QLatin1String("hub") ? Role::Hub : Role::Serve;
    const bool hub = options.role == Role::Hub;
    if (!hub && (parser.isSet(agentTokenFile) || parser.isSet(publish))) {
        *error = QStringLiteral("--agent-token-file and --publish are options of the hub role "
                                "(wstunnel-remote hub ...)");
        return std::nullopt;
    }
    if (hub && parser.isSet(allow)) {
        *error = QStringLiteral("a hub reaches no targets itself: give --allow to its agents");
        return std::nullopt;
    }
    QJsonObject file;
    if (parser.isSet(config)) {
        const auto loaded = readConfig(parser.value(config), error);
        if (!loaded)
            return std::nullopt;
        file = *loaded;
    }
    auto setting = [&](const QCommandLineOption &option, const QString &key) {
        return parser.isSet(option) ? parser.value(option) : file.value(key).toString();
    };

    const QString listenText = setting(listen, QStringLiteral("listen"));
    if (!applyListen(listenText.isEmpty() ? QStringLiteral("127.0.0.1:8080") : listenText,
                     &options.server, error))
        return std::nullopt;

    const QString tokenPath = setting(tokenFile, QStringLiteral("tokenFile"));
    if (!tokenPath.isEmpty() &&
        !(hub ? HubTokenFile::load(tokenPath, Identity::Kind::Desktop, &options.tokens, error)
              : options.tokens.loadFile(tokenPath, error)))
        return std::nullopt;
    options.tokens.add(qgetenv("WSTUNNEL_TOKEN"), QStringLiteral("WSTUNNEL_TOKEN"));
    if (options.tokens.isEmpty()) {
        *error =
            QStringLiteral("no token configured: give --token-file FILE or set WSTUNNEL_TOKEN");
        return std::nullopt;
    }
    if (hub) {
        if (!parser.isSet(agentTokenFile)) {
            *error = QStringLiteral("a hub needs --agent-token-file FILE for its agents");
            return std::nullopt;
        }
        if (!HubTokenFile::load(parser.value(agentTokenFile), Identity::Kind::Agent,
                                &options.tokens, error))
            return std::nullopt;
        for (const QString &text : parser.values(publish)) {
            const auto publication = parsePublication(text, error);
            if (!publication)
                return std::nullopt;
            options.publications.append(*publication);
        }
    }

    QStringList rules = parser.values(allow);
    if (rules.isEmpty() && !hub) {
        const QJsonArray fromFile = file.value(QStringLiteral("allow")).toArray();
        for (const QJsonValue &value : fromFile)
            rules.append(value.toString());
    }
    for (const QString &rule : std::as_const(rules)) {
        if (!options.allowList.addRule(rule, error))
            return std::nullopt;
    }
    if (options.allowList.isEmpty() && !hub) {
        options.allowList.addLoopbackDefaults();
        options.allowListDefaulted = true;
    }

    const QString pathText = setting(path, QStringLiteral("path"));
    if (!pathText.isEmpty()) {
        if (!pathText.startsWith(QLatin1Char('/'))) {
            *error = QStringLiteral("--path must start with '/', got '%1'").arg(pathText);
            return std::nullopt;
        }
        options.server.path = pathText.size() > 1 && pathText.endsWith(QLatin1Char('/'))
                                  ? pathText.chopped(1)
                                  : pathText;
    }
    const QString nameText = setting(name, QStringLiteral("name"));
    if (!nameText.isEmpty())
        options.server.name = nameText;
    const QString sessionsText =
        parser.isSet(maxSessions)
            ? parser.value(maxSessions)
            : (file.contains(QStringLiteral("maxSessions"))
                   ? QString::number(file.value(QStringLiteral("maxSessions")).toInt())
                   : QString());
    if (!sessionsText.isEmpty()) {
        bool ok = false;
        options.server.maxSessions = sessionsText.toInt(&ok);
        if (!ok || options.server.maxSessions < 1) {
            *error = QStringLiteral("--max-sessions must be a positive number, got '%1'")
                         .arg(sessionsText);
            return std::nullopt;
        }
    }
    TlsSettings &tls = options.server.tls;
    tls.certFile = setting(tlsCert, QStringLiteral("tlsCert"));
    tls.keyFile = setting(tlsKey, QStringLiteral("tlsKey"));
    tls.clientCaFile = setting(clientCa, QStringLiteral("clientCa"));
    if (tls.certFile.isEmpty() != tls.keyFile.isEmpty()) {
        *error = QStringLiteral("wss needs both --tls-cert and --tls-key");
        return std::nullopt;
    }
    if (!tls.clientCaFile.isEmpty() && !tls.isEnabled()) {
        *error = QStringLiteral("--client-ca needs --tls-cert and --tls-key");
        return std::nullopt;
    }
    if (tls.isEnabled() && !TlsConfig::server(tls, error))
        return std::nullopt;
    const QJsonValue keepAliveValue = file.value(QStringLiteral("keepalive"));
    const QString keepAliveText = parser.isSet(keepAlive) ? parser.value(keepAlive)
                                  : keepAliveValue.isDouble()
                                      ? QString::number(keepAliveValue.toDouble())
                                      : keepAliveValue.toString();
    if (!keepAliveText.isEmpty()) {
        const auto interval = NetworkOptionValues::parseKeepAlive(keepAliveText, error);
        if (!interval)
            return std::nullopt;
        options.server.limits.keepAliveMs = *interval;
    }
    const QJsonValue udpTimeoutValue = file.value(QStringLiteral("udpTimeout"));
    const QString udpTimeoutText = parser.isSet(udpTimeout) ? parser.value(udpTimeout)
                                   : udpTimeoutValue.isDouble()
                                       ? QString::number(udpTimeoutValue.toDouble())
                                       : udpTimeoutValue.toString();
    if (!udpTimeoutText.isEmpty()) {
        const auto timeout = NetworkOptionValues::parseUdpTimeout(udpTimeoutText, error);
        if (!timeout)
            return std::nullopt;
        options.server.limits.datagramIdleTimeoutMs = *timeout;
    }
    const QJsonValue resumeTimeoutValue = file.value(QStringLiteral("resumeTimeout"));
    const QString resumeTimeoutText = parser.isSet(resumeTimeout) ? parser.value(resumeTimeout)
                                      : resumeTimeoutValue.isDouble()
                                          ? QString::number(resumeTimeoutValue.toDouble())
                                          : resumeTimeoutValue.toString();
    if (!resumeTimeoutText.isEmpty()) {
        const auto timeout = NetworkOptionValues::parseResumeTimeout(resumeTimeoutText, error);
        if (!timeout)
            return std::nullopt;
        options.server.limits.resumeTimeoutMs = *timeout;
    }
    if (!ClientCommandLine::applyWindowOptions(parser, &options.server.limits, error))
        return std::nullopt;
    const QString metricsText = setting(metrics, QStringLiteral("metrics"));
    if (!metricsText.isEmpty()) {
        options.metrics = MetricsServer::parseEndpoint(metricsText, error);
        if (!options.metrics)
            return std::nullopt;
        // The tunnel's port is for desktops and agents; scrapers never share it.
        if (options.metrics->port != 0 && options.metrics->port == options.server.port) {
            *error = QStringLiteral("--metrics %1: port %2 is the tunnel's own (--listen)")
                         .arg(metricsText)
                         .arg(options.metrics->port);
            return std::nullopt;
        }
    }
    options.verbosity = verbosityOf(parser);
    return options;
}

} // namespace wstunnel
