#include "AgentOptions.h"

#include "common/ClientCommandLine.h"
#include "common/HelpOptions.h"
#include "hub/AgentName.h"

#include <QCommandLineParser>

namespace wstunnel {

std::optional<AgentOptions> AgentOptions::parse(const QStringList &arguments, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "wstunnel-remote agent: dials out to one or more hubs, registers under a name, and "
        "connects the channels desktops open through a hub to the targets the allow-list "
        "permits. Two agents with one name are an active/standby pair."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("agent"), QStringLiteral("The role."),
                                 QStringLiteral("agent"));
    const QCommandLineOption hub(QStringLiteral("hub"),
                                 QStringLiteral("URL of a hub (ws:// or wss://). Repeatable: the "
                                                "agent registers with every hub given."),
                                 QStringLiteral("URL"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("The name desktops reach this agent by."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption tokenFile(QStringLiteral("token-file"),
                                       QStringLiteral("File whose first line is the agent token; "
                                                      "WSTUNNEL_TOKEN is used otherwise."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption allow(
        QStringLiteral("allow"),
        QStringLiteral("Target desktops may reach through this agent: HOST:PORT, PORT may be "
                       "'*', HOST may be a CIDR block. Repeatable. Default: loopback only."),
        QStringLiteral("HOST:PORT"));
    const QCommandLineOption metrics(
        QStringLiteral("metrics"),
        QStringLiteral("Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR defaults to "
                       "127.0.0.1)."),
        QStringLiteral("[ADDR:]PORT"));
    parser.addOptions({hub, name, tokenFile, allow, metrics});
    addVerbosityOptions(parser);
    ClientCommandLine::addNetworkOptions(parser);
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    HelpOptions::handle(parser, arguments);
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || positional.first() != QLatin1String("agent")) {
        *error = QStringLiteral("unexpected argument '%1'").arg(positional.value(1));
        return std::nullopt;
    }

    AgentOptions options;
    options.name = parser.value(name);
    if (options.name.isEmpty()) {
        *error = QStringLiteral("an agent needs --name NAME");
        return std::nullopt;
    }
    if (!AgentName::isValid(options.name)) {
        *error = QStringLiteral("--name '%1' is not an agent name (letters, digits, '.', '_' and "
                                "'-', at most %2)")
                     .arg(options.name)
                     .arg(AgentName::kMaxLength);
        return std::nullopt;
    }
    QByteArray token;
    if (parser.isSet(tokenFile)) {
        const auto fromFile = ClientCommandLine::readToken(parser.value(tokenFile), error);
        if (!fromFile)
            return std::nullopt;
        token = *fromFile;
    } else {
        token = qgetenv("WSTUNNEL_TOKEN").trimmed();
    }
    if (token.isEmpty()) {
        *error = QStringLiteral("no token: give --token-file FILE or set WSTUNNEL_TOKEN");
        return std::nullopt;
    }
    const QStringList urls = parser.values(hub);
    if (urls.isEmpty()) {
        *error = QStringLiteral("an agent needs --hub URL");
        return std::nullopt;
    }
    for (const QString &text : urls) {
        ClientSettings settings;
        settings.url = QUrl(text, QUrl::StrictMode);
        const QString scheme = settings.url.scheme();
        if (!settings.url.isValid() || settings.url.host().isEmpty() ||
            (scheme != QLatin1String("ws") && scheme != QLatin1String("wss"))) {
            *error = QStringLiteral("--hub '%1' is not a ws:// or wss:// URL").arg(text);
            return std::nullopt;
        }
        settings.token = token;
        if (!ClientCommandLine::applyNetworkOptions(parser, &settings, error))
            return std::nullopt;
        options.hubs.append(settings);
    }
    for (const QString &rule : parser.values(allow)) {
        if (!options.allowList.addRule(rule, error))
            return std::nullopt;
    }
    if (options.allowList.isEmpty()) {
        options.allowList.addLoopbackDefaults();
        options.allowListDefaulted = true;
    }
    if (parser.isSet(metrics)) {
        options.metrics = MetricsServer::parseEndpoint(parser.value(metrics), error);
        if (!options.metrics)
            return std::nullopt;
    }
    options.verbosity = verbosityOf(parser);
    return options;
}

} // namespace wstunnel
