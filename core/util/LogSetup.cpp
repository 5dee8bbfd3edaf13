#include "LogSetup.h"

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

} // namespace wstunnel
