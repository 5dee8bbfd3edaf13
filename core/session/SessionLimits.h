#pragma once

#include <QtGlobal>

namespace wstunnel {

// Bounds that keep one session's memory and work finite whatever the peer does.
struct SessionLimits
{
    // Largest WebSocket message accepted and announced in the hello.
    quint32 maxMessageSize = 1024 * 1024 + 64;
    int maxChannels = 4096;
    // Channels the peer asked to open that are still resolving or connecting.
    int maxPendingOpens = 1024;
    // Opens beyond maxPendingOpens wait in a queue of this length, so that a connection pool
    // opened in one burst is served; only beyond it does an open fail with "limit reached".
    int maxQueuedOpens = 4096;
    // Bytes the peer may send on one channel before we return credit: the window every channel
    // starts with and keeps while its local side is slower than the path. 2 MiB is what a
    // 512 KiB chunk needs to keep credit flowing on loopback (docs/PERFORMANCE.md), and what the
    // slow-reader and idle figures were measured with.
    quint32 receiveWindow = 2 * 1024 * 1024;
    // Receive-window autotuning (ReceiveWindowTuner): a stream channel whose local side keeps up
    // with a window-limited sender doubles its window each round trip, up to maxReceiveWindow
    // (--max-window). 16 MiB carries 2.7 Gbit/s at 50 ms and 1.3 Gbit/s at 100 ms, more than one
    // channel moves over wss on a laptop.
    quint32 maxReceiveWindow = 16 * 1024 * 1024;
    // What windows may grow beyond receiveWindow, summed over one session's channels
    // (--window-budget) and over every session of the process (--process-window-budget). A
    // channel's grant becomes memory only when its reader stops after growing it, so these are
    // the worst case above the initial windows: with 32 MiB a desktop's one session stays under
    // the 64 MiB peak RSS target (about 26 MiB without it) even then, and two channels at the
    // full 16 MiB (or eight at 6 MiB) fill a 50 ms path. 128 MiB lets a remote or hub serve four
    // such sessions at full speed; beyond that they share it.
    qint64 sessionWindowBudget = 32 * 1024 * 1024;
    qint64 processWindowBudget = 128 * 1024 * 1024;
    // Most payload read from a local socket into one Data message. Larger reads mean fewer
    // syscalls, wake-ups and ACKs per byte (512 KiB moved 25% more than 128 KiB through one
    // stream, 1 MiB less again: docs/PERFORMANCE.md); a quarter of the window, so credit
    // returns while the next chunk is on its way.
    int chunkSize = 512 * 1024;
    // Local sockets stop being read while the WebSocket has more than this queued.
    qint64 writeWatermark = 2 * 1024 * 1024;
    int connectTimeoutMs = 10000;
    int helloTimeoutMs = 10000;
    // WebSocket ping interval; a session silent for three intervals is considered dead.
    int keepAliveMs = 20000;
    // A datagram channel (UDP flow) ends after this long without a datagram either way
    // (--udp-timeout).
    int datagramIdleTimeoutMs = 60000;
    // Most datagram channels at once; a new flow beyond it evicts the least recently used one.
    // Half of maxChannels, so that UDP flows never crowd out TCP connections.
    int maxDatagramChannels = 2048;
    // How long a resumable session holds its channels after losing its link, waiting for the
    // dialer to come back (--resume-timeout).
    int resumeTimeoutMs = 120000;
};

} // namespace wstunnel
