#pragma once

namespace wstunnel {

// Keeps the heap from handing the session's message buffers back to the kernel after every
// message (docs/PERFORMANCE.md, "Profile findings"). Safe to call more than once.
void tuneAllocator();

} // namespace wstunnel
