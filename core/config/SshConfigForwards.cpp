#include "SshConfigForwards.h"

#include <QStringList>

#include <algorithm>

namespace wstunnel {

namespace {

// Splits a line into its keyword and arguments as ssh_config(5) does: the keyword ends at
// whitespace or '=' (with optional whitespace around it), then whitespace separates the arguments
// and double quotes group them.
QStringList tokens(const QString &line)
{
    qsizetype end = 0;
    while (end < line.size() && !line.at(end).isSpace() && line.at(end) != QLatin1Char('='))
        ++end;
    QStringList result = {line.left(end)};
    QString rest = line.mid(end).trimmed();
    if (rest.startsWith(QLatin1Char('=')))
        rest = rest.mid(1).trimmed();
    QString current;
    bool quoted = false;
    bool pending = false;
    for (const QChar c : std::as_const(rest)) {
        if (c == QLatin1Char('"')) {
            quoted = !quoted;
            pending = true;
        } else if (!quoted && c.isSpace()) {
            if (pending)
                result.append(current);
            current.clear();
            pending = false;
        } else {
            current.append(c);
            pending = true;
        }
    }
    if (pending)
        result.append(current);
    return result;
}

bool isSocketPath(const QString &argument)
{
    return argument.contains(QLatin1Char('/'));
}

} // namespace

SshConfigForwards SshConfigForwards::parse(const QString &text)
{
    SshConfigForwards result;
    QString host;
    const QStringList lines = text.split(QLatin1Char('\n'));
    for (int index = 0; index < lines.size(); ++index) {
        const QString line = lines.at(index).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        const QStringList words = tokens(line);
        if (words.isEmpty())
            continue;
        const QString keyword = words.first().toLower();
        const QStringList arguments = words.mid(1);
        const int lineNumber = index + 1;
        if (keyword == QLatin1String("host")) {
            host = arguments.join(QLatin1Char(' '));
            continue;
        }
        if (keyword == QLatin1String("match")) {
            host = QStringLiteral("Match ") + arguments.join(QLatin1Char(' '));
            continue;
        }
        const bool local = keyword == QLatin1String("localforward");
        const bool reverse = keyword == QLatin1String("remoteforward");
        const bool dynamic = keyword == QLatin1String("dynamicforward");
        if (reverse && arguments.size() == 1) {
            result.skipped.append(Skipped{lineNumber, line, SkipReason::ReverseSocks});
            continue;
        }
        if (!local && !reverse && !dynamic)
            continue;
        if (arguments.size() != (dynamic ? 1 : 2)) {
            result.skipped.append(Skipped{lineNumber, line, SkipReason::Malformed});
            continue;
        }
        if (std::any_of(arguments.cbegin(), arguments.cend(), isSocketPath)) {
            result.skipped.append(Skipped{lineNumber, line, SkipReason::UnixSocket});
            continue;
        }
        QString error;
        const std::optional<ForwardSpec> spec =
            dynamic ? ForwardSpec::parse(arguments.at(0), ForwardSpec::Direction::Dynamic, &error)
                    : ForwardSpec::parse(arguments.at(0) + QLatin1Char(':') + arguments.at(1),
                                         local ? ForwardSpec::Direction::Local
                                               : ForwardSpec::Direction::Reverse,
                                         &error);
        if (!spec) {
            result.skipped.append(Skipped{lineNumber, line, SkipReason::Malformed});
            continue;
        }
        result.forwards.append(Forward{host, *spec, lineNumber});
    }
    return result;
}

} // namespace wstunnel
