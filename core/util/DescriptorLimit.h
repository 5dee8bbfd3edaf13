#pragma once

namespace wstunnel {

// The process's open-file limit (RLIMIT_NOFILE).
namespace DescriptorLimit {

// Raises the soft limit to the hard one, as servers with many connections need; returns the soft
// limit in force afterwards, also logged at debug level.
long raiseToHardLimit();
long current();

} // namespace DescriptorLimit

} // namespace wstunnel
