// benchtool delay-relay: a long link on loopback, for the delay and resume groups of bench/run.sh.
//
// Listens on 127.0.0.1, forwards every accepted connection to 127.0.0.1:TARGET_PORT and hands
// every byte on a fixed one-way delay later, in each direction. It reads as fast as the link
// allows, stamps each chunk with the moment it is due and writes it then, so it buffers whatever
// is in flight and is never the bottleneck itself. An optional rate cap (a token bucket per
// direction, shared by every connection through the relay, as a link would be) paces the reads,
// so the senders see back-pressure at that rate and the bytes in flight stay near rate x delay.
//
// The relay ends TCP on both sides: the kernels' TCP windows see a loopback round trip, and only
// flow control that spans the relay end to end (a tunnel's per-channel window) sees the delay.
//
// Cuts (every --cut-every-ms, and on SIGUSR1) reset every connection through the relay, both
// sides (RST), and the relay keeps accepting: a proxy that drops a WebSocket. Each cut prints
// "cut N connection(s) at T ms" with T on CLOCK_MONOTONIC, the clock `benchtool stream` uses.
// To time what follows a cut, it also prints "connection I accepted at T ms" and, once a
// connection has carried 64 KiB from the target to the client, "connection I: 65536 bytes to
// the client at T ms" (bulk data: a WebSocket's handshake and a resume are far smaller).
//
// Prints "delay-relay listening on 127.0.0.1:PORT" when it accepts connections.

#include "delayrelay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Micros = int64_t;

Micros monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Micros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

[[noreturn]] void relayFail(const char *what)
{
    std::printf("{\"ok\":false,\"error\":\"delay-relay: %s: %s\"}\n", what, std::strerror(errno));
    std::fflush(stdout);
    std::exit(1);
}

constexpr size_t kReadSize = 256 * 1024;
constexpr uint64_t kDataFlowingMark = 64 * 1024;
// A guard against a runaway peer, far above any bandwidth-delay product the bench uses
// (1 Gbit/s x 50 ms one way is 6 MB): reading from a side stops while this much waits for it.
constexpr size_t kMaxQueuedBytes = 256u << 20;

struct RelayOptions
{
    uint16_t targetPort = 0;
    uint16_t listenPort = 0;
    Micros delay = 0;           // one way
    double rateBytesPerSec = 0; // per direction; 0: no cap
    Micros cutEvery = 0;        // 0: only on SIGUSR1
};

struct Chunk
{
    Micros due = 0;
    std::vector<char> data; // empty with endOfStream: the sender shut down its side
    size_t offset = 0;
    bool endOfStream = false;
};

// One direction of one connection: bytes read from `from`, written to `to` when due.
struct Direction
{
    int from = -1;
    int to = -1;
    std::deque<Chunk> queue;
    size_t queuedBytes = 0;
    bool readEnded = false;
    bool writeEnded = false;
    bool waitingWritable = false;
    bool scheduled = false; // an entry for its first chunk is in the schedule
};

enum : int { Upstream = 0, Downstream = 1 }; // client -> target, target -> client

struct Connection
{
    uint64_t id = 0;
    int clientFd = -1;
    int targetFd = -1;
    bool targetConnected = false;
    uint64_t bytesToClient = 0;
    uint32_t clientEvents = 0;
    uint32_t targetEvents = 0;
    Direction directions[2];
};

// The rate cap of one direction of the link.
struct TokenBucket
{
    double rate = 0; // bytes per second; 0: no cap
    double capacity = 0;
    double tokens = 0;
    Micros refilledAt = 0;
    bool dry = false;
    Micros wakeAt = 0;

    void refill(Micros now)
    {
        tokens = std::min(capacity, tokens + rate * static_cast<double>(now - refilledAt) / 1e6);
        refilledAt = now;
    }
};

struct Due
{
    Micros at;
    uint64_t connection;
    int direction;
    bool operator>(const Due &other) const { return at > other.at; }
};

class DelayRelay
{
public:
    explicit DelayRelay(const RelayOptions &options)
        : m_options(options)
        , m_scratch(kReadSize)
    {
    }

    int run();

private:
    void setUp();
    void acceptAll();
    void onConnectionEvent(int fd, uint32_t events);
    void onTargetConnected(Connection &c);
    void readFrom(Connection &c, int direction);
    void flush(Connection &c, int direction);
    void runDue();
    void armDeliveryTimer();
    void updateInterest(Connection &c);
    bool wantsToRead(const Connection &c, int direction) const;
    void maybeFinish(Connection &c);
    void abort(Connection &c);
    void cutAll();
    void drainFd(int fd);

    RelayOptions m_options;
    int m_epoll = -1;
    int m_listenFd = -1;
    int m_deliveryTimer = -1;
    int m_cutTimer = -1;
    int m_signalFd = -1;
    uint64_t m_nextId = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> m_connections;
    std::unordered_map<int, uint64_t> m_connectionOfFd;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> m_schedule;
    TokenBucket m_buckets[2];
    std::vector<char> m_scratch;
};

void setNoDelayOn(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void closeWithReset(int fd)
{
    linger l{};
    l.l_onoff = 1;
    l.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

sockaddr_in loopbackAddress(uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

void DelayRelay::setUp()
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0)
        relayFail("epoll_create1");

    m_listenFd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_listenFd < 0)
        relayFail("socket");
    int one = 1;
    setsockopt(m_listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopbackAddress(m_options.listenPort);
    if (bind(m_listenFd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        relayFail("bind");
    if (listen(m_listenFd, 4096) != 0)
        relayFail("listen");
    socklen_t len = sizeof a;
    getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&a), &len);
    m_options.listenPort = ntohs(a.sin_port);

    m_deliveryTimer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m_cutTimer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m_deliveryTimer < 0 || m_cutTimer < 0)
        relayFail("timerfd_create");
    if (m_options.cutEvery > 0) {
        itimerspec every{};
        every.it_interval.tv_sec = m_options.cutEvery / 1000000;
        every.it_interval.tv_nsec = (m_options.cutEvery % 1000000) * 1000;
        every.it_value = every.it_interval;
        timerfd_settime(m_cutTimer, 0, &every, nullptr);
    }

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr);
    m_signalFd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m_signalFd < 0)
        relayFail("signalfd");

    for (int fd : {m_listenFd, m_deliveryTimer, m_cutTimer, m_signalFd}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
    }

    const Micros now = monotonicMicros();
    for (TokenBucket &b : m_buckets) {
        b.rate = m_options.rateBytesPerSec;
        // A few milliseconds' worth: bursts as short as a link's, reads still large.
        b.capacity = std::max(64.0 * 1024, b.rate * 0.004);
        b.tokens = b.capacity;
        b.refilledAt = now;
    }
}

int DelayRelay::run()
{
    setUp();
    char rate[64] = "uncapped";
    if (m_options.rateBytesPerSec > 0)
        std::snprintf(rate, sizeof rate, "%.0f Mbit/s", m_options.rateBytesPerSec * 8 / 1e6);
    std::printf("delay-relay listening on 127.0.0.1:%u (to 127.0.0.1:%u, one-way delay %.3f ms, "
                "rate %s)\n",
                m_options.listenPort, m_options.targetPort,
                static_cast<double>(m_options.delay) / 1000.0, rate);
    std::fflush(stdout);

    std::vector<epoll_event> events(256);
    for (;;) {
        int n = epoll_wait(m_epoll, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            relayFail("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == m_listenFd) {
                acceptAll();
            } else if (fd == m_deliveryTimer) {
                drainFd(fd);
            } else if (fd == m_cutTimer) {
                drainFd(fd);
                cutAll();
            } else if (fd == m_signalFd) {
                signalfd_siginfo info{};
                while (read(m_signalFd, &info, sizeof info) == sizeof info)
                    cutAll();
            } else {
                onConnectionEvent(fd, events[i].events);
            }
        }
        runDue();
        armDeliveryTimer();
    }
}

void DelayRelay::drainFd(int fd)
{
    uint64_t expirations = 0;
    while (read(fd, &expirations, sizeof expirations) == sizeof expirations) {
    }
}

void DelayRelay::acceptAll()
{
    for (;;) {
        int clientFd = accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (clientFd < 0)
            return;
        int targetFd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (targetFd < 0) {
            closeWithReset(clientFd);
            continue;
        }
        setNoDelayOn(clientFd);
        setNoDelayOn(targetFd);
        sockaddr_in a = loopbackAddress(m_options.targetPort);
        if (connect(targetFd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 &&
            errno != EINPROGRESS) {
            closeWithReset(targetFd);
            closeWithReset(clientFd);
            continue;
        }
        auto c = std::make_unique<Connection>();
        c->id = m_nextId++;
        c->clientFd = clientFd;
        c->targetFd = targetFd;
        c->directions[Upstream].from = clientFd;
        c->directions[Upstream].to = targetFd;
        c->directions[Downstream].from = targetFd;
        c->directions[Downstream].to = clientFd;
        for (int fd : {clientFd, targetFd}) {
            epoll_event ev{};
            ev.data.fd = fd;
            epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
            m_connectionOfFd[fd] = c->id;
        }
        Connection &ref = *c;
        m_connections[c->id] = std::move(c);
        std::printf("connection %llu accepted at %.3f ms\n",
                    static_cast<unsigned long long>(ref.id),
                    static_cast<double>(monotonicMicros()) / 1000.0);
        std::fflush(stdout);
        updateInterest(ref);
    }
}

bool DelayRelay::wantsToRead(const Connection &c, int direction) const
{
    const Direction &d = c.directions[direction];
    return c.targetConnected && !d.readEnded && !m_buckets[direction].dry &&
           d.queuedBytes < kMaxQueuedBytes;
}

void DelayRelay::updateInterest(Connection &c)
{
    const Direction &up = c.directions[Upstream];
    const Direction &down = c.directions[Downstream];
    const uint32_t client =
        (wantsToRead(c, Upstream) ? EPOLLIN : 0u) | (down.waitingWritable ? EPOLLOUT : 0u);
    const uint32_t target = (wantsToRead(c, Downstream) ? EPOLLIN : 0u) |
                            (up.waitingWritable || !c.targetConnected ? EPOLLOUT : 0u);
    auto apply = [this](int fd, uint32_t wanted, uint32_t &current) {
        if (wanted == current)
            return;
        epoll_event ev{};
        ev.events = wanted;
        ev.data.fd = fd;
        epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev);
        current = wanted;
    };
    apply(c.clientFd, client, c.clientEvents);
    apply(c.targetFd, target, c.targetEvents);
}

void DelayRelay::onConnectionEvent(int fd, uint32_t events)
{
    auto owner = m_connectionOfFd.find(fd);
    if (owner == m_connectionOfFd.end())
        return;
    const uint64_t id = owner->second;
    auto alive = [this, id] { return m_connections.count(id) != 0; };
    Connection &c = *m_connections.at(id);
    const bool isTarget = fd == c.targetFd;

    if (isTarget && !c.targetConnected) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        onTargetConnected(c);
        return;
    }
    if (events & EPOLLERR) { // reset by the peer
        abort(c);
        return;
    }
    const int readDirection = isTarget ? Downstream : Upstream;
    const int writeDirection = isTarget ? Upstream : Downstream;
    if ((events & EPOLLHUP) && c.directions[readDirection].readEnded &&
        c.directions[writeDirection].writeEnded) {
        // Both ways done on this socket; epoll would report the hang-up again and again while
        // the other socket's last bytes are still due.
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        return;
    }
    if (events & EPOLLOUT) {
        Direction &d = c.directions[writeDirection];
        if (d.waitingWritable) {
            d.waitingWritable = false;
            flush(c, writeDirection);
            if (!alive())
                return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP))
        readFrom(c, readDirection);
}

void DelayRelay::onTargetConnected(Connection &c)
{
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c.targetFd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
        abort(c);
        return;
    }
    c.targetConnected = true;
    updateInterest(c);
}

void DelayRelay::readFrom(Connection &c, int direction)
{
    Direction &d = c.directions[direction];
    if (!wantsToRead(c, direction))
        return;
    TokenBucket &bucket = m_buckets[direction];
    const Micros now = monotonicMicros();
    size_t want = kReadSize;
    if (bucket.rate > 0) {
        bucket.refill(now);
        want = std::min(want, static_cast<size_t>(bucket.tokens));
        if (bucket.tokens < bucket.capacity / 4) {
            // Dry: every connection of this direction stops reading until a quarter refilled.
            // Reading whatever trickled in since the last read instead would mean reads of a
            // few hundred bytes each at full rate, and the relay's CPU, not the cap, the limit.
            bucket.dry = true;
            bucket.wakeAt =
                now +
                static_cast<Micros>((bucket.capacity / 4 - bucket.tokens) / bucket.rate * 1e6) + 1;
            for (auto &entry : m_connections)
                updateInterest(*entry.second);
            return;
        }
    }
    ssize_t r = recv(d.from, m_scratch.data(), want, 0);
    if (r < 0) {
        if (errno != EAGAIN && errno != EINTR)
            abort(c);
        return;
    }
    Chunk chunk;
    chunk.due = now + m_options.delay;
    if (r == 0) {
        d.readEnded = true;
        chunk.endOfStream = true;
    } else {
        bucket.tokens -= static_cast<double>(r);
        chunk.data.assign(m_scratch.data(), m_scratch.data() + r);
        d.queuedBytes += static_cast<size_t>(r);
    }
    d.queue.push_back(std::move(chunk));
    if (d.readEnded || d.queuedBytes >= kMaxQueuedBytes)
        updateInterest(c);
    if (m_options.delay == 0) {
        if (!d.waitingWritable)
            flush(c, direction);
    } else if (!d.scheduled && !d.waitingWritable) {
        d.scheduled = true;
        m_schedule.push(Due{d.queue.front().due, c.id, direction});
    }
}

// Writes every chunk that is due, in order, until the receiving socket is full.
void DelayRelay::flush(Connection &c, int direction)
{
    Direction &d = c.directions[direction];
    const Micros now = monotonicMicros();
    const bool wasOverGuard = d.queuedBytes >= kMaxQueuedBytes;
    while (!d.queue.empty() && d.queue.front().due <= now) {
        Chunk &chunk = d.queue.front();
        if (chunk.endOfStream) {
            shutdown(d.to, SHUT_WR);
            d.writeEnded = true;
            d.queue.pop_front();
            continue;
        }
        ssize_t w = send(d.to, chunk.data.data() + chunk.offset, chunk.data.size() - chunk.offset,
                         MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                d.waitingWritable = true;
                updateInterest(c);
                return;
            }
            abort(c);
            return;
        }
        chunk.offset += static_cast<size_t>(w);
        d.queuedBytes -= static_cast<size_t>(w);
        if (direction == Downstream && c.bytesToClient < kDataFlowingMark &&
            c.bytesToClient + static_cast<uint64_t>(w) >= kDataFlowingMark) {
            std::printf("connection %llu: %llu bytes to the client at %.3f ms\n",
                        static_cast<unsigned long long>(c.id),
                        static_cast<unsigned long long>(kDataFlowingMark),
                        static_cast<double>(monotonicMicros()) / 1000.0);
            std::fflush(stdout);
        }
        if (direction == Downstream)
            c.bytesToClient += static_cast<uint64_t>(w);
        if (chunk.offset < chunk.data.size()) {
            d.waitingWritable = true;
            updateInterest(c);
            return;
        }
        d.queue.pop_front();
    }
    if (wasOverGuard && d.queuedBytes < kMaxQueuedBytes)
        updateInterest(c);
    if (!d.queue.empty() && !d.scheduled) {
        d.scheduled = true;
        m_schedule.push(Due{d.queue.front().due, c.id, direction});
    }
    maybeFinish(c);
}

void DelayRelay::maybeFinish(Connection &c)
{
    if (c.directions[Upstream].writeEnded && c.directions[Downstream].writeEnded) {
        const uint64_t id = c.id;
        for (int fd : {c.clientFd, c.targetFd}) {
            m_connectionOfFd.erase(fd);
            close(fd);
        }
        m_connections.erase(id);
    }
}

void DelayRelay::abort(Connection &c)
{
    const uint64_t id = c.id;
    for (int fd : {c.clientFd, c.targetFd}) {
        m_connectionOfFd.erase(fd);
        closeWithReset(fd);
    }
    m_connections.erase(id);
}

void DelayRelay::cutAll()
{
    const size_t count = m_connections.size();
    while (!m_connections.empty())
        abort(*m_connections.begin()->second);
    std::printf("cut %zu connection(s) at %.3f ms\n", count,
                static_cast<double>(monotonicMicros()) / 1000.0);
    std::fflush(stdout);
}

void DelayRelay::runDue()
{
    const Micros now = monotonicMicros();
    for (int direction : {Upstream, Downstream}) {
        TokenBucket &bucket = m_buckets[direction];
        if (bucket.dry && bucket.wakeAt <= now) {
            bucket.refill(now);
            bucket.dry = false;
            for (auto &entry : m_connections)
                updateInterest(*entry.second);
        }
    }
    while (!m_schedule.empty() && m_schedule.top().at <= now) {
        const Due due = m_schedule.top();
        m_schedule.pop();
        auto it = m_connections.find(due.connection);
        if (it == m_connections.end())
            continue;
        Connection &c = *it->second;
        c.directions[due.direction].scheduled = false;
        if (!c.directions[due.direction].waitingWritable)
            flush(c, due.direction);
    }
}

void DelayRelay::armDeliveryTimer()
{
    Micros next = 0;
    if (!m_schedule.empty())
        next = m_schedule.top().at;
    for (const TokenBucket &bucket : m_buckets)
        if (bucket.dry && (next == 0 || bucket.wakeAt < next))
            next = bucket.wakeAt;
    itimerspec when{};
    if (next > 0) {
        // Absolute time; a moment already past fires at once (but zero would disarm).
        next = std::max<Micros>(next, 1);
        when.it_value.tv_sec = next / 1000000;
        when.it_value.tv_nsec = (next % 1000000) * 1000;
    }
    timerfd_settime(m_deliveryTimer, TFD_TIMER_ABSTIME, &when, nullptr);
}

void relayUsage()
{
    std::fprintf(stderr, "usage: benchtool delay-relay TARGET_PORT [--delay-ms D] [--rate-mbit R] "
                         "[--cut-every-ms N] [--listen-port P]\n");
}

} // namespace

int runDelayRelay(int argc, char **argv)
{
    if (argc < 3) {
        relayUsage();
        return 2;
    }
    RelayOptions options;
    const long target = std::strtol(argv[2], nullptr, 10);
    if (target <= 0 || target > 65535) {
        relayUsage();
        return 2;
    }
    options.targetPort = static_cast<uint16_t>(target);
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const double value = std::strtod(argv[i + 1], nullptr);
        if (value < 0) {
            relayUsage();
            return 2;
        }
        if (key == "--delay-ms") {
            options.delay = static_cast<Micros>(value * 1000.0);
        } else if (key == "--rate-mbit") {
            options.rateBytesPerSec = value * 1e6 / 8;
        } else if (key == "--cut-every-ms") {
            options.cutEvery = static_cast<Micros>(value * 1000.0);
        } else if (key == "--listen-port" && value <= 65535) {
            options.listenPort = static_cast<uint16_t>(value);
        } else {
            relayUsage();
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    DelayRelay relay(options);
    return relay.run();
}
