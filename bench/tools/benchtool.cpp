// benchtool: target servers and load generators for bench/run.sh.
//
// Plain C++17 + POSIX sockets, no Qt, so that it measures the tunnels and not
// itself. Every socket it opens is on 127.0.0.1; every loop is bounded by a
// count and a time limit; every blocking socket call has a timeout.
//
//   benchtool serve                      echo + bulk target servers on free ports;
//                                        prints "echo PORT", "bulk PORT", "ready"
//   benchtool connrate PORT [--count N] [--seconds S] [--size B]
//                                        sequential connect -> B-byte echo -> close
//   benchtool pingpong PORT [--count N] [--seconds S] [--size B] [--warmup W]
//                                        B-byte ping-pong over one connection
//   benchtool firstbyte PORT [--count N] [--seconds S] [--size B]
//                                        sequential: connect, write B bytes, time to
//                                        the first echoed byte (p50/p95), close
//   benchtool idle PORT [--count N]      opens N connections (1-byte echo each),
//                                        prints a JSON line, holds them until a
//                                        line (or EOF) arrives on stdin
//   benchtool bulk PORT --dir up|down [--bytes N] [--chunk B] [--tick-us U]
//                                        N bytes through the bulk server; the
//                                        receiving side (server for up, this
//                                        tool for down) reads at most B bytes
//                                        per U microseconds (a slow reader)
//   benchtool stream PORT [--seconds S] [--gap-ms G]
//                                        reads from the bulk server as fast as it can
//                                        for S seconds; reports every stall of G ms or
//                                        more (CLOCK_MONOTONIC ms, last byte before and
//                                        first byte after)
//   benchtool delay-relay TARGET_PORT [--delay-ms D] [--rate-mbit R] [--cut-every-ms N]
//                                        a long link: see delayrelay.cpp
//
// Results are one JSON object per line on stdout; "ok":false plus exit 1 on failure.

#include "delayrelay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------- failure reporting

[[noreturn]] void fail(const std::string &what)
{
    std::string msg = what;
    if (errno != 0) {
        msg += ": ";
        msg += std::strerror(errno);
    }
    for (char &c : msg)
        if (c == '"' || c == '\\')
            c = '\'';
    std::printf("{\"ok\":false,\"error\":\"%s\"}\n", msg.c_str());
    std::fflush(stdout);
    std::exit(1);
}

// ---------------------------------------------------------------- data pattern

// Payload is a fixed pseudo-random sequence with a prime period, so a receiver
// can verify every byte at any offset with memcmp.
constexpr size_t kPeriod = 65521;
std::vector<uint8_t> g_pattern; // 2 * kPeriod bytes

void initPattern()
{
    g_pattern.resize(2 * kPeriod);
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < kPeriod; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g_pattern[i] = static_cast<uint8_t>(x >> 24);
    }
    std::memcpy(g_pattern.data() + kPeriod, g_pattern.data(), kPeriod);
}

// Pointer to pattern bytes starting at stream offset `off`; at least kPeriod valid bytes.
const uint8_t *patternAt(uint64_t off)
{
    return g_pattern.data() + (off % kPeriod);
}

bool verify(const uint8_t *buf, size_t n, uint64_t off)
{
    while (n > 0) {
        size_t piece = std::min(n, kPeriod);
        if (std::memcmp(buf, patternAt(off), piece) != 0)
            return false;
        buf += piece;
        off += piece;
        n -= piece;
    }
    return true;
}

// ---------------------------------------------------------------- sockets

void raiseFdLimit()
{
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

void setTimeouts(int fd, int seconds)
{
    timeval tv{};
    tv.tv_sec = seconds;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void setNoDelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int connectLoopback(uint16_t port, int timeoutSeconds)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket");
    setTimeouts(fd, timeoutSeconds);
    setNoDelay(fd);
    sockaddr_in a = loopback(port);
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int listenLoopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(*port);
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        fail("bind");
    if (listen(fd, 4096) != 0)
        fail("listen");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

bool writeAll(int fd, const void *data, size_t n)
{
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool readAll(int fd, void *data, size_t n)
{
    char *p = static_cast<char *>(data);
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ECONNRESET;
            return false;
        }
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// Writes `total` pattern bytes as fast as the socket takes them.
bool sendPattern(int fd, uint64_t total)
{
    uint64_t off = 0;
    while (off < total) {
        size_t piece = static_cast<size_t>(std::min<uint64_t>(total - off, kPeriod));
        if (!writeAll(fd, patternAt(off), piece))
            return false;
        off += piece;
    }
    return true;
}

// Reads and verifies `total` pattern bytes, at most `chunk` bytes per `tickUs`
// (chunk == 0: as fast as possible).
bool slowReceive(int fd, uint64_t total, uint32_t chunk, uint32_t tickUs, std::string *why)
{
    std::vector<uint8_t> buf(256 * 1024);
    uint64_t off = 0;
    auto next = Clock::now();
    while (off < total) {
        uint64_t budget = chunk ? std::min<uint64_t>(chunk, total - off) : total - off;
        while (budget > 0) {
            size_t want = static_cast<size_t>(std::min<uint64_t>(budget, buf.size()));
            ssize_t r = recv(fd, buf.data(), want, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                *why = r == 0 ? "unexpected EOF at byte " + std::to_string(off)
                              : std::string("recv: ") + std::strerror(errno) + " at byte " +
                                    std::to_string(off);
                return false;
            }
            if (!verify(buf.data(), static_cast<size_t>(r), off)) {
                *why = "corrupt payload near byte " + std::to_string(off);
                return false;
            }
            off += static_cast<uint64_t>(r);
            budget -= static_cast<uint64_t>(r);
        }
        if (chunk) {
            next += std::chrono::microseconds(tickUs);
            auto now = Clock::now();
            if (next > now)
                std::this_thread::sleep_until(next);
            else
                next = now; // running late: no catch-up burst
        }
    }
    return true;
}

// ---------------------------------------------------------------- bulk protocol

#pragma pack(push, 1)
struct BulkHeader
{
    char magic[4]; // "WSTB"
    char dir;      // 'U': client sends, server reads slowly; 'D': server sends, client reads slowly
    char pad[3];
    uint64_t total;
    uint32_t chunk;
    uint32_t tickUs;
};
#pragma pack(pop)
static_assert(sizeof(BulkHeader) == 24, "header layout");

void drainUntilEof(int fd)
{
    char b[4096];
    for (int i = 0; i < 1000; ++i) { // bounded: the peer closes right after the result
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
    }
}

void bulkSession(int fd)
{
    setTimeouts(fd, 60);
    BulkHeader h{};
    if (!readAll(fd, &h, sizeof h) || std::memcmp(h.magic, "WSTB", 4) != 0) {
        close(fd);
        return;
    }
    if (h.dir == 'U') {
        std::string why;
        bool ok = slowReceive(fd, h.total, h.chunk, h.tickUs, &why);
        char reply[8] = {};
        std::memcpy(reply, ok ? "OK" : "BAD", ok ? 2 : 3);
        if (!ok)
            std::fprintf(stderr, "benchtool serve: bulk up failed: %s\n", why.c_str());
        writeAll(fd, reply, sizeof reply);
        drainUntilEof(fd);
    } else if (h.dir == 'D') {
        if (sendPattern(fd, h.total))
            drainUntilEof(fd);
    }
    close(fd);
}

// ---------------------------------------------------------------- serve

struct EchoConn
{
    std::string pending;
    size_t offset = 0;
};

int cmdServe()
{
    raiseFdLimit();
    signal(SIGPIPE, SIG_IGN);
    uint16_t echoPort = 0, bulkPort = 0;
    int echoFd = listenLoopback(&echoPort);
    fcntl(echoFd, F_SETFL, fcntl(echoFd, F_GETFL) | O_NONBLOCK);
    int bulkFd = listenLoopback(&bulkPort);

    std::thread([bulkFd] {
        for (;;) {
            int c = accept4(bulkFd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                    continue;
                return;
            }
            std::thread(bulkSession, c).detach();
        }
    }).detach();

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fail("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = echoFd;
    epoll_ctl(ep, EPOLL_CTL_ADD, echoFd, &ev);

    std::printf("echo %u\nbulk %u\nready\n", echoPort, bulkPort);
    std::fflush(stdout);

    std::unordered_map<int, EchoConn> conns;
    std::vector<char> buf(64 * 1024);
    std::vector<epoll_event> events(256);
    auto closeConn = [&](int fd) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns.erase(fd);
    };
    for (;;) {
        int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == echoFd) {
                for (int k = 0; k < 64; ++k) {
                    int c = accept4(echoFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0)
                        break;
                    setNoDelay(c);
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    conns[c];
                }
                continue;
            }
            auto it = conns.find(fd);
            if (it == conns.end())
                continue;
            EchoConn &conn = it->second;
            if (events[i].events & EPOLLOUT) {
                ssize_t w = send(fd, conn.pending.data() + conn.offset,
                                 conn.pending.size() - conn.offset, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    closeConn(fd);
                    continue;
                }
                if (w > 0)
                    conn.offset += static_cast<size_t>(w);
                if (conn.offset == conn.pending.size()) {
                    conn.pending.clear();
                    conn.offset = 0;
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = fd;
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
                }
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = recv(fd, buf.data(), buf.size(), 0);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                if (r <= 0) {
                    closeConn(fd);
                    continue;
                }
                ssize_t w = send(fd, buf.data(), static_cast<size_t>(r), MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    closeConn(fd);
                    continue;
                }
                if (w < 0)
                    w = 0;
                if (w < r) { // socket full: park the rest, stop reading until it drains
                    conn.pending.assign(buf.data() + w, static_cast<size_t>(r - w));
                    conn.offset = 0;
                    epoll_event cev{};
                    cev.events = EPOLLOUT;
                    cev.data.fd = fd;
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- clients

struct Args
{
    uint16_t port = 0;
    std::map<std::string, std::string> opts;

    uint64_t num(const char *key, uint64_t def) const
    {
        auto it = opts.find(key);
        return it == opts.end() ? def : std::strtoull(it->second.c_str(), nullptr, 10);
    }
    double real(const char *key, double def) const
    {
        auto it = opts.find(key);
        return it == opts.end() ? def : std::strtod(it->second.c_str(), nullptr);
    }
    std::string str(const char *key, const char *def) const
    {
        auto it = opts.find(key);
        return it == opts.end() ? def : it->second;
    }
};

int cmdConnrate(const Args &a)
{
    const uint64_t maxCount = a.num("--count", 20000);
    const double maxSeconds = a.real("--seconds", 2.0);
    const size_t size = a.num("--size", 64);
    std::vector<uint8_t> back(size);
    uint64_t done = 0;
    auto t0 = Clock::now();
    while (done < maxCount && secondsSince(t0) < maxSeconds) {
        int fd = connectLoopback(a.port, 10);
        if (fd < 0)
            fail("connect #" + std::to_string(done));
        if (!writeAll(fd, patternAt(done), size) || !readAll(fd, back.data(), size))
            fail("echo on connection #" + std::to_string(done));
        if (!verify(back.data(), size, done)) {
            errno = 0;
            fail("echo mismatch on connection #" + std::to_string(done));
        }
        close(fd);
        ++done;
    }
    double el = secondsSince(t0);
    std::printf("{\"ok\":true,\"conns\":%llu,\"seconds\":%.6f,\"per_sec\":%.3f}\n",
                static_cast<unsigned long long>(done), el, done / el);
    return 0;
}

// Sorts timing samples for percentile(); no samples at all is a failed measurement.
void sortSamples(std::vector<double> &samples)
{
    if (samples.empty()) {
        errno = 0;
        fail("no samples");
    }
    std::sort(samples.begin(), samples.end());
}

// The p-th percentile (0..1) of sorted samples, nearest rank.
double percentile(const std::vector<double> &sorted, double p)
{
    size_t idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(idx, sorted.size() - 1)];
}

int cmdPingpong(const Args &a)
{
    const uint64_t maxCount = a.num("--count", 20000);
    const double maxSeconds = a.real("--seconds", 2.0);
    const size_t size = a.num("--size", 500);
    const uint64_t warmup = a.num("--warmup", 200);
    int fd = connectLoopback(a.port, 10);
    if (fd < 0)
        fail("connect");
    std::vector<uint8_t> back(size);
    std::vector<double> us;
    us.reserve(static_cast<size_t>(std::min<uint64_t>(maxCount, 1000000)));
    auto roundTrip = [&](uint64_t i) {
        auto s = Clock::now();
        if (!writeAll(fd, patternAt(i), size) || !readAll(fd, back.data(), size))
            fail("ping-pong #" + std::to_string(i));
        auto e = Clock::now();
        if (!verify(back.data(), size, i)) {
            errno = 0;
            fail("ping-pong mismatch #" + std::to_string(i));
        }
        return std::chrono::duration<double, std::micro>(e - s).count();
    };
    for (uint64_t i = 0; i < warmup; ++i)
        roundTrip(i);
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < maxCount && secondsSince(t0) < maxSeconds; ++i)
        us.push_back(roundTrip(warmup + i));
    close(fd);
    sortSamples(us);
    auto pct = [&us](double p) { return percentile(us, p); };
    double sum = 0;
    for (double v : us)
        sum += v;
    std::printf("{\"ok\":true,\"samples\":%zu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,"
                "\"min_us\":%.3f,\"max_us\":%.3f}\n",
                us.size(), pct(0.50), pct(0.99), sum / static_cast<double>(us.size()), us.front(),
                us.back());
    return 0;
}

// Time to first byte of a new connection, as a user sees it: from connect() until the first
// byte of the echoed request arrives, so it includes whatever set-up the path does per
// connection (a TLS handshake, a channel or stream opening). The rest of the echo is read and
// verified, outside the timing.
int cmdFirstByte(const Args &a)
{
    const uint64_t maxCount = a.num("--count", 200);
    const double maxSeconds = a.real("--seconds", 10.0);
    const size_t size = std::max<size_t>(1, a.num("--size", 64));
    std::vector<uint8_t> back(size);
    std::vector<double> us;
    us.reserve(static_cast<size_t>(std::min<uint64_t>(maxCount, 1000000)));
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < maxCount && secondsSince(t0) < maxSeconds; ++i) {
        auto start = Clock::now();
        int fd = connectLoopback(a.port, 10);
        if (fd < 0)
            fail("connect #" + std::to_string(i));
        if (!writeAll(fd, patternAt(i), size) || !readAll(fd, back.data(), 1))
            fail("first byte on connection #" + std::to_string(i));
        auto firstByte = Clock::now();
        if (!readAll(fd, back.data() + 1, size - 1))
            fail("echo on connection #" + std::to_string(i));
        if (!verify(back.data(), size, i)) {
            errno = 0;
            fail("echo mismatch on connection #" + std::to_string(i));
        }
        close(fd);
        us.push_back(std::chrono::duration<double, std::micro>(firstByte - start).count());
    }
    sortSamples(us);
    auto pct = [&us](double p) { return percentile(us, p); };
    std::printf("{\"ok\":true,\"samples\":%zu,\"seconds\":%.6f,\"p50_us\":%.3f,\"p95_us\":%.3f,"
                "\"min_us\":%.3f,\"max_us\":%.3f}\n",
                us.size(), secondsSince(t0), pct(0.50), pct(0.95), us.front(), us.back());
    return 0;
}

int cmdIdle(const Args &a)
{
    raiseFdLimit();
    const uint64_t count = a.num("--count", 1000);
    const double maxSeconds = a.real("--seconds", 60.0);
    std::vector<int> fds;
    fds.reserve(count);
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < count; ++i) {
        if (secondsSince(t0) > maxSeconds) {
            errno = 0;
            fail("timed out after " + std::to_string(i) + " connections");
        }
        int fd = connectLoopback(a.port, 10);
        if (fd < 0)
            fail("connect #" + std::to_string(i));
        uint8_t b = static_cast<uint8_t>(i), r = 0;
        if (!writeAll(fd, &b, 1) || !readAll(fd, &r, 1) || r != b)
            fail("echo on idle connection #" + std::to_string(i));
        fds.push_back(fd);
    }
    std::printf("{\"ok\":true,\"open\":%zu,\"seconds\":%.6f}\n", fds.size(), secondsSince(t0));
    std::fflush(stdout);
    char line[64];
    (void)!std::fgets(line, sizeof line, stdin); // hold until told (or our parent goes away)
    for (int fd : fds)
        close(fd);
    std::printf("{\"closed\":%zu}\n", fds.size());
    return 0;
}

int cmdBulk(const Args &a)
{
    const std::string dir = a.str("--dir", "up");
    BulkHeader h{};
    std::memcpy(h.magic, "WSTB", 4);
    h.dir = dir == "down" ? 'D' : 'U';
    h.total = a.num("--bytes", 1ull << 30);
    h.chunk = static_cast<uint32_t>(a.num("--chunk", 2u << 20));
    h.tickUs = static_cast<uint32_t>(a.num("--tick-us", 10000));
    int fd = connectLoopback(a.port, 60);
    if (fd < 0)
        fail("connect");
    auto t0 = Clock::now();
    if (!writeAll(fd, &h, sizeof h))
        fail("send header");
    if (h.dir == 'U') {
        if (!sendPattern(fd, h.total))
            fail("send payload");
        char reply[8] = {};
        if (!readAll(fd, reply, sizeof reply))
            fail("read result");
        if (std::memcmp(reply, "OK", 2) != 0) {
            errno = 0;
            fail("server saw a short or corrupt stream");
        }
    } else {
        std::string why;
        if (!slowReceive(fd, h.total, h.chunk, h.tickUs, &why)) {
            errno = 0;
            fail(why);
        }
    }
    double el = secondsSince(t0);
    close(fd);
    std::printf("{\"ok\":true,\"bytes\":%llu,\"seconds\":%.6f,\"MiB_per_s\":%.3f}\n",
                static_cast<unsigned long long>(h.total), el, h.total / el / 1048576.0);
    return 0;
}

double monotonicMs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// One download from the bulk server for a fixed time, timing every stall: the resume group
// matches them with the moments its relay cut the tunnel. The clock is CLOCK_MONOTONIC, the
// relay's. Ends by closing with bytes unread (a reset), which the bulk server takes as the end.
int cmdStream(const Args &a)
{
    const double seconds = a.real("--seconds", 10.0);
    const double gapMs = a.real("--gap-ms", 2.0);
    constexpr size_t kMaxGaps = 10000;
    BulkHeader h{};
    std::memcpy(h.magic, "WSTB", 4);
    h.dir = 'D';
    h.total = 1ull << 60;
    int fd = connectLoopback(a.port, 60);
    if (fd < 0)
        fail("connect");
    // Short receive time-outs, so a stall cannot hold the run past its end.
    timeval tick{};
    tick.tv_usec = 100000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    if (!writeAll(fd, &h, sizeof h))
        fail("send header");
    std::vector<uint8_t> buf(256 * 1024);
    std::vector<std::pair<double, double>> gaps;
    uint64_t off = 0;
    const double start = monotonicMs();
    const double end = start + seconds * 1000.0;
    double lastByte = start;
    for (;;) {
        ssize_t r = recv(fd, buf.data(), buf.size(), 0);
        const double now = monotonicMs();
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (now >= end)
                break;
            if (now - lastByte > 60000.0) {
                errno = 0;
                fail("no byte for 60 s at byte " + std::to_string(off));
            }
            continue;
        }
        if (r <= 0)
            fail("stream ended at byte " + std::to_string(off));
        if (!verify(buf.data(), static_cast<size_t>(r), off)) {
            errno = 0;
            fail("corrupt payload near byte " + std::to_string(off));
        }
        if (now - lastByte >= gapMs && gaps.size() < kMaxGaps)
            gaps.emplace_back(lastByte, now);
        lastByte = now;
        off += static_cast<uint64_t>(r);
        if (now >= end)
            break;
    }
    const double elapsed = (monotonicMs() - start) / 1000.0;
    close(fd);
    std::printf("{\"ok\":true,\"bytes\":%llu,\"seconds\":%.6f,\"gbit_per_s\":%.4f,\"gaps_ms\":[",
                static_cast<unsigned long long>(off), elapsed,
                static_cast<double>(off) * 8 / elapsed / 1e9);
    for (size_t i = 0; i < gaps.size(); ++i)
        std::printf("%s[%.3f,%.3f]", i ? "," : "", gaps[i].first, gaps[i].second);
    std::printf("]}\n");
    return 0;
}

void usage()
{
    std::fprintf(
        stderr, "usage: benchtool serve\n"
                "       benchtool connrate PORT [--count N] [--seconds S] [--size B]\n"
                "       benchtool pingpong PORT [--count N] [--seconds S] [--size B] [--warmup W]\n"
                "       benchtool firstbyte PORT [--count N] [--seconds S] [--size B]\n"
                "       benchtool idle PORT [--count N] [--seconds S]\n"
                "       benchtool bulk PORT --dir up|down [--bytes N] [--chunk B] [--tick-us U]\n"
                "       benchtool stream PORT [--seconds S] [--gap-ms G]\n"
                "       benchtool delay-relay TARGET_PORT [--delay-ms D] [--rate-mbit R]\n"
                "                             [--cut-every-ms N] [--listen-port P]\n");
}

} // namespace

int main(int argc, char **argv)
{
    initPattern();
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage();
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "serve")
        return cmdServe();
    if (cmd == "delay-relay")
        return runDelayRelay(argc, argv);
    if (argc < 3) {
        usage();
        return 2;
    }
    Args a;
    long port = std::strtol(argv[2], nullptr, 10);
    if (port <= 0 || port > 65535) {
        usage();
        return 2;
    }
    a.port = static_cast<uint16_t>(port);
    for (int i = 3; i + 1 < argc; i += 2)
        a.opts[argv[i]] = argv[i + 1];
    if (cmd == "connrate")
        return cmdConnrate(a);
    if (cmd == "pingpong")
        return cmdPingpong(a);
    if (cmd == "firstbyte")
        return cmdFirstByte(a);
    if (cmd == "idle")
        return cmdIdle(a);
    if (cmd == "bulk")
        return cmdBulk(a);
    if (cmd == "stream")
        return cmdStream(a);
    usage();
    return 2;
}
