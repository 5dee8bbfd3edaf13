#include "HeadlessOptions.h"

#include "common/ClientCommandLine.h"
#include "hub/AgentName.h"

#include <QCommandLineParser>

namespace wstunnel {

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
    const QCommandLineOption agent(QStringLiteral("agent"),
                                   QStringLiteral("When --remote is a hub: the agent to reach "
                                                  "through it."),
                                   QStringLiteral("NAME"));
    const QCommandLineOption listAgents(
        QStringLiteral("list-agents"),
        QStringLiteral("Print the agents the hub at --remote lets this token reach, one line per "
                       "instance (NAME active|standby ADDRESS since TIME), and exit."));
    const QCommandLineOption profile(QStringLiteral("profile"),
                                     QStringLiteral("With --headless: run the mappings of a "
                                                    "profile saved by the desktop app."),
                                     QStringLiteral("FILE"));
    const QCommandLineOption minimized(QStringLiteral("minimized"),
                                       QStringLiteral("Start with the window hidden in the tray."));
    parser.addOptions({headless, remote, tokenFile, local, reverse, name, agent, listAgents});
    addVerbosityOptions(parser);
    parser.addOptions({profile, minimized});
    ClientCommandLine::addNetworkOptions(parser);
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
    options.listAgents = parser.isSet(listAgents);
    options.headless = parser.isSet(headless) || options.listAgents;
    options.verbosity = verbosityOf(parser);
    options.minimized = parser.isSet(minimized);
    if (!options.headless)
        return options;
    if (parser.isSet(profile) && !options.listAgents) {
        options.profilePath = parser.value(profile);
        return options;
    }

    if (!parser.isSet(remote)) {
        *error = options.listAgents ? QStringLiteral("--list-agents needs --remote URL")
                                    : QStringLiteral("--headless needs --remote URL");
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
        const auto token = ClientCommandLine::readToken(parser.value(tokenFile), error);
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
    if (parser.isSet(agent)) {
        options.agent = parser.value(agent);
        if (!AgentName::isValid(options.agent)) {
            *error = QStringLiteral("--agent '%1' is not an agent name (letters, digits, '.', '_' "
                                    "and '-', at most %2)")
                         .arg(options.agent)
                         .arg(AgentName::kMaxLength);
            return std::nullopt;
        }
        options.client.headers.append(
            {QByteArray(AgentName::kReachHeader), options.agent.toUtf8()});
    }
    if (!ClientCommandLine::applyNetworkOptions(parser, &options.client, error))
        return std::nullopt;
    if (options.listAgents)
        return options;
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
