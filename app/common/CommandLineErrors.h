#pragma once

#include "TunnelError.h"

#include <QString>

namespace wstunnel {

// Core's errors in the words of `wstunnel --headless`: the log line's facts plus advice that
// names the options and the environment variable to change.
class CommandLineErrors
{
public:
    static QString describe(const TunnelError &error);
};

} // namespace wstunnel
