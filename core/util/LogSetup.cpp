#include "LogSetup.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QLoggingCategory>
#include <QString>
#include <QtGlobal>

namespace wstunnel {

void configureLogging(Verbosity verbosity)
{
    if (qEnvironmentVariableIsEmpty("QT_MESSAGE_PATTERN")) {
        qSetMessagePattern(QStringLiteral(
            "%{time yyyy-MM-dd hh:mm:ss.zzz} "
            "%{if-debug}debug%{endif}%{if-info}info%{endif}%{if-warning}warning%{endif}"
            "%{if-critical}error%{endif}%{if-fatal}fatal%{endif} %{category}: %{message}"));
    }
    switch (verbosity) {
    case Verbosity::Quiet:
        QLoggingCategory::setFilterRules(QStringLiteral("wstunnel.*.info=false"));
        break;
    case Verbosity::Normal:
        break;
    case Verbosity::Verbose:
        QLoggingCategory::setFilterRules(QStringLiteral("wstunnel.*.debug=true"));
        break;
    }
}

void addVerbosityOptions(QCommandLineParser &parser)
{
    parser.addOption(
        QCommandLineOption(QStringLiteral("verbose"), QStringLiteral("Log debug detail.")));
    parser.addOption(QCommandLineOption(QStringLiteral("quiet"),
                                        QStringLiteral("Log only warnings and errors.")));
}

Verbosity verbosityOf(const QCommandLineParser &parser)
{
    if (parser.isSet(QStringLiteral("verbose")))
        return Verbosity::Verbose;
    if (parser.isSet(QStringLiteral("quiet")))
        return Verbosity::Quiet;
    return Verbosity::Normal;
}

} // namespace wstunnel
