#include "HelpOptions.h"

#include <QCommandLineParser>

namespace wstunnel {

void HelpOptions::handle(QCommandLineParser &parser, const QStringList &arguments)
{
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    // The help with Qt's own options has no public call of its own; process() shows it and
    // exits, and cannot fail on arguments that parsed already.
    if (parser.isSet(QStringLiteral("help-all")))
        parser.process(arguments);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
}

QString HelpOptions::usageError(const QString &error, const QString &helpCommand)
{
    return QStringLiteral("%1 (see '%2')").arg(error, helpCommand);
}

} // namespace wstunnel
