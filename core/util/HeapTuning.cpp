#include "HeapTuning.h"

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

namespace wstunnel::HeapTuning {

namespace {
// Above the largest message (SessionLimits::maxMessageSize), so no message gets an mmap() of its
// own.
constexpr int kMmapThreshold = 4 * 1024 * 1024;
// Free memory kept at the heap's top: enough for the buffers of a few busy channels to come and
// go without returning pages to the kernel each time, small beside the 64 MiB a process may use.
constexpr int kTrimThreshold = 16 * 1024 * 1024;
} // namespace

void forBulkTransfers()
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

} // namespace wstunnel::HeapTuning
