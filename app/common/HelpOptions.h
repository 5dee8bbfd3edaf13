#pragma once

#include <QStringList>

class QCommandLineParser;

namespace wstunnel {

// The built-in options every binary answers before it looks at anything else.
class HelpOptions
{
public:
    // Prints the help or the version and exits the process with 0 for --help, --help-all and
    // --version; returns otherwise. The parser has parsed arguments successfully.
    static void handle(QCommandLineParser &parser, const QStringList &arguments);
    // A command-line error as one line, which must be the last on stderr, with where to look.
    static QString usageError(const QString &error, const QString &helpCommand);
};

} // namespace wstunnel
