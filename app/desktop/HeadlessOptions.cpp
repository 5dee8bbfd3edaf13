#include "HeadlessOptions.h"

#include "common/ClientCommandLine.h"
#include "common/HelpOptions.h"
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
    const QCommandLineOption dynamic(QStringLiteral("D"),
                                     QStringLiteral("Dynamic forward [BIND:]PORT: a SOCKS5 (and "
                                                    "SOCKS4a) server whose clients reach any "
                                                    "target the remote allows. Repeatable."),
                                     QStringLiteral("SPEC"));
    const QCommandLineOption stdio(QStringLiteral("stdio"),
                                   QStringLiteral("Join standard input and output to one "
                                                  "connection to HOST:PORT on the remote side, "
                                                  "and exit when it ends (an ssh ProxyCommand)."),
                                   QStringLiteral("HOST:PORT"));
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
    parser.addOptions(
        {headless, remote, tokenFile, local, reverse, dynamic, stdio, name, agent, listAgents});
    addVerbosityOptions(parser);
    parser.addOptions({profile, minimized});
    ClientCommandLine::addNetworkOptions(parser);
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    HelpOptions::handle(parser, arguments);
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
    if (!options.headless) {
        // The mapping editor takes its mappings from the profile: forwards given here would be
        // dropped without a word.
        const QStringList windowOptions = {QStringLiteral("help"),    QStringLiteral("help-all"),
                                           QStringLiteral("version"), QStringLiteral("verbose"),
                                           QStringLiteral("quiet"),   QStringLiteral("minimized")};
        for (const QString &option : parser.optionNames()) {
            if (!windowOptions.contains(option)) {
                *error = QStringLiteral("%1%2 runs without a window only: add --headless")
                             .arg(option.size() == 1 ? QStringLiteral("-") : QStringLiteral("--"),
                                  option);
                return std::nullopt;
            }
        }
        return options;
    }
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
    for (const QString &text : parser.values(dynamic)) {
        const auto spec = ForwardSpec::parse(text, ForwardSpec::Direction::Dynamic, error);
        if (!spec)
            return std::nullopt;
        options.forwards.append(*spec);
    }
    if (parser.isSet(stdio)) {
        const QString text = parser.value(stdio);
        if (!parseEndpoint(text, &options.stdioHost, &options.stdioPort, error) ||
            options.stdioHost.isEmpty() || options.stdioPort == 0) {
            *error = QStringLiteral("--stdio '%1' is not HOST:PORT").arg(text);
            return std::nullopt;
        }
        // Standard output carries the connection: nothing else may be printed there.
        if (!options.forwards.isEmpty()) {
            *error = QStringLiteral("--stdio carries one connection: it takes no -L, -R or -D");
            return std::nullopt;
        }
        // ssh shows a ProxyCommand's standard error: only warnings and errors belong there.
        if (options.verbosity == Verbosity::Normal)
            options.verbosity = Verbosity::Quiet;
        return options;
    }
    if (options.forwards.isEmpty()) {
        *error = QStringLiteral("--headless needs at least one -L, -R or -D forward, or --stdio");
        return std::nullopt;
    }
    return options;
}

} // namespace wstunnel
