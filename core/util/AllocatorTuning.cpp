#include "AllocatorTuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace wstunnel {

void tuneAllocator()
{
#if defined(__GLIBC__)
    // Data messages are up to 512 KiB and live until the socket has written them. glibc serves
    // blocks of that size with mmap and trims the heap top once 256 KiB are free, so every message
    // cost fresh, zero-filled pages: a third of the sending process's CPU in page faults. Fixed
    // thresholds above the largest message (1 MiB) keep those blocks on the heap for reuse.
    static const bool tuned = mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024) == 1 &&
                              mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024) == 1;
    (void)tuned;
#endif
}

} // namespace wstunnel
