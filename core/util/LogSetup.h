#pragma once

namespace wstunnel {

enum class Verbosity { Quiet, Normal, Verbose };

// Sets the log line format (unless QT_MESSAGE_PATTERN is set) and the level of the wstunnel.*
// categories; QT_LOGGING_RULES still overrides both.
void configureLogging(Verbosity verbosity);

} // namespace wstunnel
