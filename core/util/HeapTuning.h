#pragma once

namespace wstunnel {

// How the C library's allocator treats the tunnel's large, short-lived message buffers.
namespace HeapTuning {

// Call first thing in main(). glibc serves blocks above a moving threshold with fresh mmap()s and
// hands the heap's free top back to the kernel above another; data messages (up to 1 MiB, held
// until the peer acknowledges them) cross both, so every message paid for new zeroed pages: about
// a quarter of the CPU per GiB (docs/PERFORMANCE.md, "Profile findings"). Fixed thresholds above
// the largest message keep those pages in use. No effect on other C libraries.
void forBulkTransfers();

} // namespace HeapTuning

} // namespace wstunnel
