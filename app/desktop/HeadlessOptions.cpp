#include "HeadlessOptions.h"

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

} // namespace

std::optional<HeadlessOptions> HeadlessOptions::parse(const QStringList &arguments, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "WSTunnel carries TCP connections over one WebSocket to a wstunnel-remote. Without "
        "--headless it opens the mapping editor."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("Run without a window, from the command line."));
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
                                                  "remote side. Repeatable."),
                                   QStringLiteral("SPEC"));
    const QCommandLineOption reverse(QStringLiteral("R"),
                                     QStringLiteral("Reverse forward [BIND:]PORT:HOST:HOSTPORT: "
                                                    "BIND:PORT on the remote reaches HOST:HOSTPORT "
                                                    "here. Repeatable."),
                                     QStringLiteral("SPEC"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Name announced to the remote."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption verbose(QStringLiteral("verbose"), QStringLiteral("Log debug detail."));
    const QCommandLineOption quiet(QStringLiteral("quiet"),
                                   QStringLiteral("Log only warnings and errors."));
    parser.addOptions({headless, remote, tokenFile, local, reverse, name, verbose, quiet});
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        *error = QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first());
        return std::nullopt;
    }

    HeadlessOptions options;
    options.headless = parser.isSet(headless);
    if (parser.isSet(verbose))
        options.verbosity = Verbosity::Verbose;
    else if (parser.isSet(quiet))
        options.verbosity = Verbosity::Quiet;
    if (!options.headless)
        return options;

    if (!parser.isSet(remote)) {
        *error = QStringLiteral("--headless needs --remote URL");
        return std::nullopt;
    }
    options.client.url = QUrl(parser.value(remote), QUrl::StrictMode);
    const QString scheme = options.client.url.scheme();
    if (!options.client.url.isValid() || options.client.url.host().isEmpty()
        || (scheme != QLatin1String("ws") && scheme != QLatin1String("wss"))) {
        *error = QStringLiteral("--remote '%1' is not a ws:// or wss:// URL").arg(parser.value(remote));
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
