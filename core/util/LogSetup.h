#pragma once

#include <QList>

class QCommandLineOption;
class QCommandLineParser;

namespace wstunnel {

enum class Verbosity { Quiet, Normal, Verbose };

// --verbose and --quiet, which every binary takes, and the verbosity a parsed command line chose.
void addVerbosityOptions(QCommandLineParser &parser);
Verbosity verbosityOf(const QCommandLineParser &parser);

// Sets the log line format (unless QT_MESSAGE_PATTERN is set) and the level of the wstunnel.*
// categories; QT_LOGGING_RULES still overrides both.
void configureLogging(Verbosity verbosity);

} // namespace wstunnel
