#!/usr/bin/python3
"""WSTunnel benchmark driver (started by bench/run.sh, which installs and builds first).

Starts each path on loopback, measures it with iperf3 and bench/tools/benchtool,
reads the tunnel processes' CPU and memory from /proc, and prints a Markdown
table of medians (full mode also writes docs/PERFORMANCE.md).

Paths: direct (client -> target), socat (two socat relays in series), node
(npm wstunnel 1.4.0 server + client), ours (wstunnel-remote + wstunnel
--headless) and hub (wstunnel --agent -> wstunnel-remote hub -> wstunnel-remote
agent), reported beside ours; with --baseline-bin also ours-before (the same,
run with an older build's binaries) and a before/after comparison. Over TLS: ours-wss
(ours over wss:// with a private CA), socat-tls (two socat relays speaking TLS to each
other) and ssh (`ssh -L` through an OpenSSH sshd the harness starts), reported in their own
table ("Over TLS"). The delay group ("Long links") runs direct and ours over a delay relay,
and ours over wss, ssh and node over the same relay for the time to first byte only. Every
address used is 127.0.0.1; every wait is bounded.
"""

import argparse
import datetime
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
LOGDIR = os.path.join(WORK, "logs")
PIDFILE = os.path.join(WORK, "pids")
NODE_DIR = os.path.join(WORK, "node")
NODE_WSTT = os.path.join(NODE_DIR, "node_modules", "wstunnel", "bin", "wstt.js")
DOC = os.path.join(ROOT, "docs", "PERFORMANCE.md")
# Generated once per run: the private CA and server certificate of the TLS paths, and the SSH
# host key, client key, authorized_keys and known_hosts of the ssh path.
TLS_DIR = os.path.join(WORK, "tls")
SSH_DIR = os.path.join(WORK, "ssh")
SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, so it must be started by absolute path
SSH_HOST_ALIAS = "wstunnel-bench-sshd"  # the known_hosts name, whatever port sshd listens on

CLK_TCK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30
MIB = 1 << 20

PATHS = ["direct", "socat", "node", "ours"]
# Ours from an older build (--baseline-bin): measured exactly like ours, reported
# only against ours ("Before and after"), never in the main table.
BASELINE = "ours-before"
# Ours through a hub and an agent: reported only against ours ("Hub path"), never in the main
# table, whose columns are the direct tunnel and its peers.
HUB = "hub"
# Three socat relays in a row: what a third relay costs any relay on this machine, the peer of the
# hub path (reported only beside it, throughput group only).
SOCAT3 = "socat3"
PEERS = ["direct", "socat", "node"]
TUNNELS = ["socat", "node", "ours", BASELINE, HUB, SOCAT3]  # paths that have processes to measure
# Over TLS, each in the throughput and setup groups only, reported in their own table ("Over
# TLS"), never in the main table; ours over wss and ssh also in the delay group (time to first
# byte only, in the "Long links" tables).
OURS_WSS, SOCAT_TLS, SSH = "ours-wss", "socat-tls", "ssh"
TLS_PATHS = [OURS_WSS, SOCAT_TLS, SSH]
TLS_GROUPS = ("throughput", "setup", "delay")
ALL_PATHS = PATHS + [BASELINE, HUB, SOCAT3] + TLS_PATHS
LABEL = {
    "direct": "direct",
    "socat": "socat chain",
    "node": "node wstunnel 1.4.0",
    "ours": "ours",
    BASELINE: "ours before",
    HUB: "ours through hub",
    SOCAT3: "socat chain of three",
    OURS_WSS: "ours over wss",
    SOCAT_TLS: "socat TLS pair",
    SSH: "ssh -L",
}
# Which process plays the client-side ("entry") and server-side ("exit") role.
ROLE_NAMES = {
    "socat": {"entry": "socat relay 1", "exit": "socat relay 2"},
    "node": {"entry": "node client", "exit": "node server"},
    "ours": {"entry": "wstunnel --headless", "exit": "wstunnel-remote"},
    BASELINE: {"entry": "wstunnel --headless", "exit": "wstunnel-remote"},
    HUB: {"entry": "wstunnel --headless --agent", "hub": "wstunnel-remote hub",
          "exit": "wstunnel-remote agent"},
    SOCAT3: {"entry": "socat relay 1", "hub": "socat relay 2", "exit": "socat relay 3"},
    OURS_WSS: {"entry": "wstunnel --headless", "exit": "wstunnel-remote"},
    SOCAT_TLS: {"entry": "socat relay 1 (TLS client)", "exit": "socat relay 2 (TLS server)"},
    SSH: {"entry": "ssh", "exit": "sshd with its session processes"},
}

UDP_RATES = (100, 1000)  # offered Mbit/s
UDP_LENGTH = 1460  # bytes per datagram: iperf3's default, an Ethernet MTU's worth

PROFILE_PLACEHOLDER = (
    "_Placeholder: the lead fills this section in after profiling the tunnel with "
    "`perf` / `valgrind --tool=callgrind` (where the CPU goes per GiB, what bounds "
    "single-stream throughput)._"
)


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- processes

class Proc:
    """A child process in its own process group, output drained to a log file."""

    registry = []
    lock = threading.Lock()
    counter = 0

    def __init__(self, name, argv, env=None, stdin=subprocess.DEVNULL, counted=()):
        """counted: regexes whose matching lines are counted for as long as the process runs
        (self.counts), also past the lines kept for wait_line."""
        with Proc.lock:
            Proc.counter += 1
            n = Proc.counter
        self.name = name
        self.argv = argv
        self.logpath = os.path.join(LOGDIR, f"{n:04d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.log")
        self.lines = []
        self.keep_lines = True
        self.counted = [re.compile(r) for r in counted]
        self.counts = {r: 0 for r in counted}
        self.cond = threading.Condition()
        self.eof = False
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.logf = open(self.logpath, "w", encoding="utf-8", errors="replace")
        self.logf.write("$ " + " ".join(argv) + "\n")
        self.logf.flush()
        try:
            self.p = subprocess.Popen(
                argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=full_env, cwd=ROOT, start_new_session=True)
        except OSError as e:
            self.logf.close()
            raise BenchError(f"cannot start {name}: {e}")
        self.pid = self.p.pid
        with Proc.lock:
            Proc.registry.append(self)
            _write_pidfile()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                self.logf.write(line + "\n")
                self.logf.flush()
            except ValueError:
                pass
            with self.cond:
                if self.keep_lines and len(self.lines) < 20000:
                    self.lines.append(line)
                for pat in self.counted:
                    if pat.search(line):
                        self.counts[pat.pattern] += 1
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def alive(self):
        return self.p.poll() is None

    def wait_line(self, regex, timeout):
        """Waits for an output line matching regex; returns the match."""
        pat = re.compile(regex)
        deadline = time.monotonic() + timeout
        idx = 0
        with self.cond:
            while True:
                while idx < len(self.lines):
                    m = pat.search(self.lines[idx])
                    idx += 1
                    if m:
                        return m
                if self.eof:
                    raise BenchError(f"{self.name} exited (rc={self.p.poll()}) before printing "
                                     f"/{regex}/; see {self.logpath}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"{self.name}: no /{regex}/ within {timeout}s; see {self.logpath}")
                self.cond.wait(min(left, 0.5))

    def wait_counts(self, done, timeout, what):
        """Waits until done(self.counts) holds (bounded)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not done(self.counts):
                if self.eof:
                    raise BenchError(f"{self.name} exited (rc={self.p.poll()}) before {what}; "
                                     f"see {self.logpath}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"{self.name}: not {what} within {timeout}s; see {self.logpath}")
                self.cond.wait(min(left, 0.5))

    def tail(self, n=5):
        with self.cond:
            return self.lines[-n:]

    def stop(self, grace=3.0):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may still hold forked children (socat) even after the leader left.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.thread.join(timeout=2)
        try:
            self.logf.close()
        except Exception:
            pass
        with Proc.lock:
            if self in Proc.registry:
                Proc.registry.remove(self)
            _write_pidfile()

    @classmethod
    def stop_all(cls):
        for p in list(cls.registry):
            p.stop(grace=1.0)


def _write_pidfile():
    # Read by run.sh's trap as a backstop if this driver is killed hard.
    try:
        with open(PIDFILE, "w") as f:
            for p in Proc.registry:
                f.write(f"{p.pid}\n")
    except OSError:
        pass


def run_tool(argv, timeout, name, check=True, env=None):
    """Runs a short-lived measuring command; returns its stdout. Raises on failure
    (with check=False only on a time-out, and returns (exit code, stdout)). env adds to
    the environment."""
    with open(os.path.join(LOGDIR, "tools.log"), "a") as lf:
        lf.write("$ " + " ".join(argv) + "\n")
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, cwd=ROOT, start_new_session=True,
                               env=dict(os.environ, **(env or {})))
        except subprocess.TimeoutExpired:
            lf.write("  TIMEOUT\n")
            raise BenchError(f"{name}: timed out after {timeout}s")
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        lf.write(out[-4000:] + err[-2000:] + f"  rc={r.returncode}\n")
    if not check:
        return r.returncode, out
    if r.returncode != 0:
        detail = (out.strip().splitlines() or [""])[-1] + " " + err.strip()[-300:]
        raise BenchError(f"{name}: exit {r.returncode}: {detail.strip()}")
    return out


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# --------------------------------------------------------------------------- /proc readers

def tree_pids(pid):
    """pid and all its descendants (via /proc/PID/task/TID/children)."""
    out, todo, seen = [], [pid], set()
    while todo and len(out) < 20000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stat_times(pid):
    """(utime+stime, cutime+cstime) in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return 0.0, 0.0
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is state (field 3); utime is field 14 -> index 11
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) / CLK_TCK, (cut + cst) / CLK_TCK


def tree_cpu(pid):
    """CPU seconds of a process, its reaped children and its live descendants."""
    own, reaped = stat_times(pid)
    total = own + reaped
    for p in tree_pids(pid)[1:]:
        total += stat_times(p)[0]
    return total


def wait_children_reaped(pid, timeout=3.0, settled=1):
    """socat forks per connection; wait until finished children are reaped so
    their CPU time is in the parent's cutime/cstime. settled: how many processes the tree
    holds between connections (sshd keeps its session's processes for as long as ssh runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(tree_pids(pid)) <= settled:
            return
        time.sleep(0.02)


def clear_hwm(pid):
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass


def tree_mem_kib(pid):
    """Memory of a process: VmRSS for a single process; for a forking one
    (socat), the sum of PSS over the tree so shared pages count once."""
    pids = tree_pids(pid)
    if len(pids) == 1:
        return status_kib(pid, "VmRSS")
    return sum(pss_kib(p) for p in pids)


def wait_listening(proc, port, timeout):
    """Waits until proc (or a descendant) holds a LISTEN socket on 127.0.0.1:port."""
    want_local = "0100007F:%04X" % port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited (rc={proc.p.poll()}) before listening on "
                             f"{port}: {' | '.join(proc.tail(3))}; see {proc.logpath}")
        inodes = set()
        try:
            with open("/proc/net/tcp") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1] == want_local and parts[3] == "0A":
                        inodes.add(parts[9])
        except OSError:
            pass
        if inodes:
            for p in tree_pids(proc.pid):
                try:
                    for fd in os.listdir(f"/proc/{p}/fd"):
                        try:
                            link = os.readlink(f"/proc/{p}/fd/{fd}")
                        except OSError:
                            continue
                        if link.startswith("socket:[") and link[8:-1] in inodes:
                            return
                except OSError:
                    pass
        time.sleep(0.01)
    raise BenchError(f"{proc.name}: not listening on 127.0.0.1:{port} within {timeout}s; "
                     f"see {proc.logpath}")


# --------------------------------------------------------------------------- paths

class Tunnel:
    def __init__(self, path, port, procs, relay=None):
        self.path = path
        self.port = port  # where a client connects
        self.procs = procs  # role -> Proc ("entry", "exit")
        self.relay = relay  # the delay relay the path runs over (not measured), or None

    def check_alive(self):
        for role, p in self.procs.items():
            if not p.alive():
                raise BenchError(f"{self.path} {role} process died (rc={p.p.poll()}): "
                                 f"{' | '.join(p.tail(3))}; see {p.logpath}")
        if self.relay and not self.relay.alive():
            raise BenchError(f"{self.path}: the delay relay died (rc={self.relay.p.poll()}); "
                             f"see {self.relay.logpath}")

    def stop(self):
        for p in self.procs.values():
            p.stop()
        if self.relay:
            self.relay.stop()


def start_direct(cfg, tport, tag):
    return Tunnel("direct", tport, {})


class Link:
    """A long link played by `benchtool delay-relay`: round trip (ms) and rate cap (Mbit/s, 0:
    none). A path runs over it when the relay stands where the path crosses the network: in
    front of the target for direct, between client and remote (or hub) for ours."""

    CUT_LINE = r"^cut (\d+) connection\(s\) at ([\d.]+) ms"
    ACCEPT_LINE = r"^connection (\d+) accepted at ([\d.]+) ms"
    FLOWING_LINE = r"^connection (\d+): \d+ bytes to the client at ([\d.]+) ms"

    def __init__(self, rtt_ms, rate_mbit=0):
        self.rtt_ms = rtt_ms
        self.rate_mbit = rate_mbit


def start_relay(cfg, link, target_port, tag):
    """A delay relay to 127.0.0.1:target_port; (Proc, the port it listens on)."""
    argv = [cfg.benchtool, "delay-relay", str(target_port), "--delay-ms", f"{link.rtt_ms / 2:g}"]
    if link.rate_mbit:
        argv += ["--rate-mbit", f"{link.rate_mbit:g}"]
    relay = Proc(f"relay-{tag}", argv, counted=(Link.CUT_LINE,))
    try:
        m = relay.wait_line(r"^delay-relay listening on 127\.0\.0\.1:(\d+)", 10)
    except BaseException:
        relay.stop()
        raise
    return relay, int(m.group(1))


def start_direct_over(cfg, tport, tag, link):
    relay, port = start_relay(cfg, link, tport, tag)
    return Tunnel("direct", port, {}, relay)


def start_socat(cfg, tport, tag, relays=2):
    """A chain of socat relays, the last in front of the target: two are the peer of the direct
    tunnel (client and remote), three the peer of the hub path (desktop, hub, agent)."""
    path = "socat" if relays == 2 else SOCAT3
    roles = ["entry", "hub", "exit"] if relays == 3 else ["entry", "exit"]
    procs = {}
    try:
        upstream = tport
        for position in range(relays, 0, -1):
            port = free_port()
            role = roles[position - 1]
            procs[role] = Proc(f"socat{position}-{tag}", [
                "socat", "-b", "262144",
                f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay",
                f"TCP4:127.0.0.1:{upstream},nodelay"])
            wait_listening(procs[role], port, 10)
            upstream = port
        return Tunnel(path, upstream, procs)
    except BaseException:
        for p in procs.values():
            p.stop()
        raise


def start_node(cfg, tport, tag, link=None):
    """The Node.js tunnel's server and client; over a Link, the client dials a delay relay in
    front of the server (one WebSocket through it per tunnelled connection)."""
    procs = {}
    relay = None
    env = {"HOME": os.path.join(NODE_DIR, "home")}  # machine-uuid may write ~/.nodemid
    os.makedirs(env["HOME"], exist_ok=True)
    try:
        sport = free_port()
        procs["exit"] = Proc(f"node-server-{tag}", ["node", NODE_WSTT, "-s", f"127.0.0.1:{sport}"],
                             env=env)
        wait_listening(procs["exit"], sport, 20)
        if link:
            relay, sport = start_relay(cfg, link, sport, f"node-{tag}")
        lport = free_port()
        procs["entry"] = Proc(f"node-client-{tag}", [
            "node", NODE_WSTT, "-t", f"127.0.0.1:{lport}:127.0.0.1:{tport}",
            f"ws://127.0.0.1:{sport}"], env=env)
        wait_listening(procs["entry"], lport, 20)
        return Tunnel("node", lport, procs, relay)
    except BaseException:
        for p in procs.values():
            p.stop()
        if relay:
            relay.stop()
        raise


def start_ours(cfg, tport, tag, path="ours", link=None):
    """Ours with the binaries of cfg.bins[path] (BASELINE: the older build); OURS_WSS: the
    current build over wss://, with the server certificate of the private CA, which the
    client trusts through --ca-file; over a Link, the client dials a delay relay in front of
    the remote."""
    bins = cfg.bins[BASELINE if path == BASELINE else "ours"]
    procs = {}
    relay = None
    env = {"WSTUNNEL_TOKEN": "bench"}
    remote_tls, client_tls, scheme = [], [], "ws"
    if path == OURS_WSS:
        remote_tls = ["--tls-cert", os.path.join(TLS_DIR, "server.pem"),
                      "--tls-key", os.path.join(TLS_DIR, "server.key")]
        client_tls = ["--ca-file", os.path.join(TLS_DIR, "ca.pem")]
        scheme = "wss"
    try:
        procs["exit"] = Proc(f"{path}-remote-{tag}", [
            bins["remote"], "--listen", "127.0.0.1:0", "--allow", "127.0.0.1:*"] + remote_tls,
            env=env)
        m = procs["exit"].wait_line(r"listening on %s://127\.0\.0\.1:(\d+)/" % scheme, 20)
        wsport = int(m.group(1))
        if link:
            relay, wsport = start_relay(cfg, link, wsport, f"{path}-{tag}")
        lport = free_port()
        argv = [bins["client"], "--headless", "--remote", f"{scheme}://127.0.0.1:{wsport}"] \
            + client_tls + ["-L", f"127.0.0.1:{lport}:127.0.0.1:{tport}"]
        # A second forward to the echo server lets us see when the session is up
        # without sending anything to the measured target (e.g. iperf3).
        pport = None
        if tport != cfg.echo_port:
            pport = free_port()
            argv += ["-L", f"127.0.0.1:{pport}:127.0.0.1:{cfg.echo_port}"]
        procs["entry"] = Proc(f"{path}-client-{tag}", argv, env=env)
        m = procs["entry"].wait_line(r"forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:%d" % tport, 20)
        port = int(m.group(1))
        if pport is not None:
            m2 = procs["entry"].wait_line(
                r"forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:%d" % cfg.echo_port, 20)
            pport = int(m2.group(1))
        wait_session_up(cfg, procs["entry"], pport if pport is not None else port, 20)
        return Tunnel(path, port, procs, relay)
    except BaseException:
        for p in procs.values():
            p.stop()
        if relay:
            relay.stop()
        raise


def start_hub(cfg, tport, tag, link=None):
    """Desktop -> hub -> agent, all of the current build, one agent named bench; over a Link,
    the desktop dials a delay relay in front of the hub (the agent dials the hub directly)."""
    bins = cfg.bins["ours"]
    procs = {}
    relay = None
    tokens = os.path.join(WORK, "hub-agent.tokens")
    with open(tokens, "w") as f:
        f.write("bench-agent bench\n")
    try:
        procs["hub"] = Proc(f"hub-hub-{tag}", [
            bins["remote"], "hub", "--listen", "127.0.0.1:0", "--agent-token-file", tokens],
            env={"WSTUNNEL_TOKEN": "bench"})
        m = procs["hub"].wait_line(r"listening on ws://127\.0\.0\.1:(\d+)/", 20)
        url = f"ws://127.0.0.1:{int(m.group(1))}/"
        procs["exit"] = Proc(f"hub-agent-{tag}", [
            bins["remote"], "agent", "--hub", url, "--name", "bench", "--allow", "127.0.0.1:*"],
            env={"WSTUNNEL_TOKEN": "bench-agent"})
        procs["exit"].wait_line(r"registered with .* as bench \(active\)", 20)
        if link:
            relay, relay_port = start_relay(cfg, link, int(m.group(1)), f"hub-{tag}")
            url = f"ws://127.0.0.1:{relay_port}/"
        lport = free_port()
        argv = [bins["client"], "--headless", "--remote", url, "--agent", "bench",
                "-L", f"127.0.0.1:{lport}:127.0.0.1:{tport}"]
        pport = None
        if tport != cfg.echo_port:
            pport = free_port()
            argv += ["-L", f"127.0.0.1:{pport}:127.0.0.1:{cfg.echo_port}"]
        procs["entry"] = Proc(f"hub-client-{tag}", argv, env={"WSTUNNEL_TOKEN": "bench"})
        m = procs["entry"].wait_line(r"forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:%d" % tport, 20)
        port = int(m.group(1))
        if pport is not None:
            m2 = procs["entry"].wait_line(
                r"forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:%d" % cfg.echo_port, 20)
            pport = int(m2.group(1))
        wait_session_up(cfg, procs["entry"], pport if pport is not None else port, 20)
        return Tunnel(HUB, port, procs, relay)
    except BaseException:
        for p in procs.values():
            p.stop()
        if relay:
            relay.stop()
        raise


def start_socat_tls(cfg, tport, tag):
    """Two socat relays speaking TLS to each other, as the TLS relay reference: the second
    presents the private CA's server certificate, the first verifies it against that CA."""
    procs = {}
    try:
        p2 = free_port()
        procs["exit"] = Proc(f"socat-tls2-{tag}", [
            "socat", "-b", "262144",
            f"OPENSSL-LISTEN:{p2},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay,"
            f"cert={os.path.join(TLS_DIR, 'server.pem')},key={os.path.join(TLS_DIR, 'server.key')},"
            "verify=0",
            f"TCP4:127.0.0.1:{tport},nodelay"])
        wait_listening(procs["exit"], p2, 10)
        p1 = free_port()
        # -d -d: a notice per connection naming the TLS version and cipher negotiated (reported).
        procs["entry"] = Proc(f"socat-tls1-{tag}", [
            "socat", "-d", "-d", "-b", "262144",
            f"TCP4-LISTEN:{p1},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay",
            f"OPENSSL:127.0.0.1:{p2},cafile={os.path.join(TLS_DIR, 'ca.pem')},verify=1,nodelay"])
        wait_listening(procs["entry"], p1, 10)
        return Tunnel(SOCAT_TLS, p1, procs)
    except BaseException:
        for p in procs.values():
            p.stop()
        raise


def ssh_options():
    """Client options that keep ssh to the generated files: no ssh_config (-F /dev/null), no
    agent, no default identities, host key checked against the generated known_hosts only."""
    return ["-F", "/dev/null", "-i", os.path.join(SSH_DIR, "client_ed25519"),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={os.path.join(SSH_DIR, 'known_hosts')}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"HostKeyAlias={SSH_HOST_ALIAS}",
            "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no"]


def login_name():
    """Who ssh logs in as: whoever runs the benchmark (sshd, started by them, allows only them)."""
    return pwd.getpwuid(os.getuid()).pw_name


def start_sshd(tag):
    """Debian's OpenSSH sshd on a free loopback port with its own configuration, host key and
    authorized key; ready once it prints that it listens."""
    port = free_port()
    conf = os.path.join(SSH_DIR, "sshd_config")
    with open(conf, "w") as f:
        f.write(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {os.path.join(SSH_DIR, 'host_ed25519')}
PidFile {os.path.join(SSH_DIR, 'sshd.pid')}
AuthorizedKeysFile {os.path.join(SSH_DIR, 'authorized_keys')}
AllowUsers {login_name()}
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding local
X11Forwarding no
PrintMotd no
UseDNS no
StrictModes no
""")
    proc = Proc(f"sshd-{tag}", [SSHD, "-D", "-e", "-f", conf])
    proc.wait_line(r"Server listening on 127\.0\.0\.1 port %d" % port, 20)
    return proc, port


def probe_ssh_cipher(sshd_port):
    """The cipher OpenSSH negotiates by default, from one `ssh -v … true` (once per run)."""
    logpath = os.path.join(SSH_DIR, "cipher-probe.log")
    if os.path.exists(logpath):
        os.unlink(logpath)
    run_tool(["ssh"] + ssh_options() + ["-v", "-E", logpath, "-p", str(sshd_port),
                                        f"{login_name()}@127.0.0.1", "true"],
             30, "ssh cipher probe")
    with open(logpath, encoding="utf-8", errors="replace") as f:
        m = re.search(r"kex: client->server cipher: (\S+)", f.read())
    return m.group(1) if m else "unknown"


def start_ssh(cfg, tport, tag, link=None):
    """`ssh -N -L` through our own sshd, logged in with the generated key; over a Link, ssh
    dials a delay relay in front of sshd (HostKeyAlias: the port does not matter)."""
    procs = {}
    relay = None
    try:
        procs["exit"], sport = start_sshd(tag)
        if not cfg.ssh_cipher:
            cfg.ssh_cipher = probe_ssh_cipher(sport)
            log(f"  ssh: cipher negotiated by default: {cfg.ssh_cipher}")
        if link:
            relay, sport = start_relay(cfg, link, sport, f"ssh-{tag}")
        lport = free_port()
        argv = ["ssh"] + ssh_options() + [
            "-N", "-T", "-o", "ExitOnForwardFailure=yes", "-p", str(sport),
            "-L", f"127.0.0.1:{lport}:127.0.0.1:{tport}"]
        pport = None
        if tport != cfg.echo_port:
            pport = free_port()
            argv += ["-L", f"127.0.0.1:{pport}:127.0.0.1:{cfg.echo_port}"]
        argv.append(f"{login_name()}@127.0.0.1")
        procs["entry"] = Proc(f"ssh-{tag}", argv)
        # ssh listens for its forwards once logged in.
        wait_listening(procs["entry"], lport, 20)
        wait_session_up(cfg, procs["entry"], pport if pport is not None else lport, 20)
        return Tunnel(SSH, lport, procs, relay)
    except BaseException:
        for p in procs.values():
            p.stop()
        if relay:
            relay.stop()
        raise


def prepare_tls_material(cfg):
    """Generates, fresh for this run, a private CA with a server certificate for 127.0.0.1 (ours
    over wss, the socat TLS pair) and the ssh path's host key, client key, authorized_keys and
    known_hosts, all in bench/.work: the user's ~/.ssh is neither read nor written."""
    cfg.ssh_cipher = None
    cfg.socat_tls_cipher = None
    if any(p in cfg.paths for p in (OURS_WSS, SOCAT_TLS)):
        shutil.rmtree(TLS_DIR, ignore_errors=True)
        os.makedirs(TLS_DIR)

        def tls(name):
            return os.path.join(TLS_DIR, name)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run_tool(["openssl", "req", "-x509"] + ec + [
            "-days", "30", "-subj", "/CN=WSTunnel bench CA",
            "-keyout", tls("ca.key"), "-out", tls("ca.pem")], 30, "openssl (CA)")
        run_tool(["openssl", "req"] + ec + [
            "-subj", "/CN=127.0.0.1", "-keyout", tls("server.key"), "-out", tls("server.csr")],
            30, "openssl (server key)")
        with open(tls("server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        run_tool(["openssl", "x509", "-req", "-in", tls("server.csr"), "-CA", tls("ca.pem"),
                  "-CAkey", tls("ca.key"), "-CAcreateserial", "-days", "30",
                  "-extfile", tls("server.ext"), "-out", tls("server.pem")],
                 30, "openssl (server certificate)")
    if SSH in cfg.paths:
        shutil.rmtree(SSH_DIR, ignore_errors=True)
        os.makedirs(SSH_DIR, mode=0o700)
        for key, comment in (("host_ed25519", "bench sshd host"),
                             ("client_ed25519", "bench ssh client")):
            run_tool(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                      "-f", os.path.join(SSH_DIR, key)], 30, "ssh-keygen")
        with open(os.path.join(SSH_DIR, "client_ed25519.pub")) as f:
            client_pub = f.read().strip()
        with open(os.path.join(SSH_DIR, "host_ed25519.pub")) as f:
            host_type, host_key = f.read().split()[:2]
        with open(os.path.join(SSH_DIR, "authorized_keys"), "w") as f:
            f.write(client_pub + "\n")
        with open(os.path.join(SSH_DIR, "known_hosts"), "w") as f:
            f.write(f"{SSH_HOST_ALIAS} {host_type} {host_key}\n")
        # sshd started as root needs its privilege separation directory (Debian creates it in
        # the service's start-up, which we do not run).
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def note_socat_tls_cipher(cfg, tunnel):
    """Keeps the cipher the socat TLS pair negotiated, from its first relay's notices."""
    if tunnel.path != SOCAT_TLS:
        return
    for line in reversed(tunnel.procs["entry"].tail(200)):
        m = re.search(r"SSL connection using (\S+)", line)
        if m:
            cfg.socat_tls_cipher = m.group(1)
            return


def wait_session_up(cfg, proc, echo_port, timeout):
    """`forwarding` is printed when the local listener is ready, which can be
    before the WebSocket session is; a connection made in between is refused.
    Polls with single echo connections until one goes through (bounded)."""
    deadline = time.monotonic() + timeout
    last = ""
    attempts = 0
    while time.monotonic() < deadline and attempts < 400:
        attempts += 1
        if not proc.alive():
            raise BenchError(f"{proc.name} exited (rc={proc.p.poll()}); see {proc.logpath}")
        r = subprocess.run([cfg.benchtool, "connrate", str(echo_port), "--count", "1",
                            "--seconds", "5"], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        if r.returncode == 0:
            return attempts
        last = r.stdout.decode("utf-8", "replace").strip()
        time.sleep(0.02)
    raise BenchError(f"{proc.name}: no echo through the tunnel within {timeout}s ({last}); "
                     f"see {proc.logpath}")


STARTERS = {
    "direct": start_direct,
    "socat": start_socat,
    SOCAT3: lambda cfg, tport, tag: start_socat(cfg, tport, tag, 3),
    "node": start_node,
    "ours": start_ours,
    BASELINE: lambda cfg, tport, tag: start_ours(cfg, tport, tag, BASELINE),
    HUB: start_hub,
    OURS_WSS: lambda cfg, tport, tag: start_ours(cfg, tport, tag, OURS_WSS),
    SOCAT_TLS: start_socat_tls,
    SSH: start_ssh,
}


def start_ours_udp(cfg, tport, tag):
    """Ours for `iperf3 -u`: one local port carries its control connection over TCP and its
    datagrams over a /udp mapping, both to the iperf3 server's port."""
    bins = cfg.bins["ours"]
    procs = {}
    env = {"WSTUNNEL_TOKEN": "bench"}
    try:
        procs["exit"] = Proc(f"ours-remote-{tag}", [
            bins["remote"], "--listen", "127.0.0.1:0", "--allow", "127.0.0.1:*",
            "--allow", "127.0.0.1:*/udp"], env=env)
        m = procs["exit"].wait_line(r"listening on ws://127\.0\.0\.1:(\d+)/", 20)
        wsport = int(m.group(1))
        lport = free_port()
        pport = free_port()
        procs["entry"] = Proc(f"ours-client-{tag}", [
            bins["client"], "--headless", "--remote", f"ws://127.0.0.1:{wsport}",
            "-L", f"127.0.0.1:{lport}:127.0.0.1:{tport}",
            "-L", f"127.0.0.1:{lport}:127.0.0.1:{tport}/udp",
            "-L", f"127.0.0.1:{pport}:127.0.0.1:{cfg.echo_port}"], env=env)
        procs["entry"].wait_line(r"forwarding 127\.0\.0\.1:%d -> 127\.0\.0\.1:%d/udp"
                                 % (lport, tport), 20)
        procs["entry"].wait_line(r"forwarding 127\.0\.0\.1:%d -> 127\.0\.0\.1:%d$"
                                 % (pport, cfg.echo_port), 20)
        wait_session_up(cfg, procs["entry"], pport, 20)
        return Tunnel("ours", lport, procs)
    except BaseException:
        for p in procs.values():
            p.stop()
        raise


# The paths that carry `iperf3 -u`: node wstunnel 1.4.0 has no UDP (nothing in its --help), and
# a socat chain would need a UDP relay beside the TCP one for iperf3's control connection.
UDP_STARTERS = {"direct": start_direct, "ours": start_ours_udp}
# The groups that measure with iperf3 (one server for the group).
IPERF_GROUPS = ("throughput", "udp", "delay")


def start_path(cfg, path, tport, tag, starters=STARTERS):
    """Starts a path (up to 3 attempts: a picked free port can be taken meanwhile)
    and proves it carries data with a few echo connections when the target is
    the echo server."""
    last = None
    for attempt in range(3):
        try:
            t = starters[path](cfg, tport, f"{tag}-{path}")
            return t
        except BenchError as e:
            last = e
            log(f"  {path}: start attempt {attempt + 1} failed: {e}")
    raise BenchError(f"{path} failed to start: {last}")


# --------------------------------------------------------------------------- measurements

class Results:
    def __init__(self):
        self.samples = {}  # metric -> path -> [values]
        self.errors = []   # (group, path, message)
        self.notes = []

    def add(self, metric, path, value):
        self.samples.setdefault(metric, {}).setdefault(path, []).append(value)

    def median(self, metric, path):
        vals = self.samples.get(metric, {}).get(path)
        if not vals:
            return None
        return statistics.median(vals)

    def count(self, metric, path):
        return len(self.samples.get(metric, {}).get(path, []))


class IperfServer:
    """One iperf3 server for the whole throughput group; restarted when a failed
    test may have left it wedged."""

    LISTENING = r"^Server listening on"
    ACCEPTED = r"^Accepted connection from"

    def __init__(self):
        self.proc = None
        self.port = None
        self.restart()

    def restart(self):
        if self.proc:
            self.proc.stop()
        self.port = free_port()
        self.proc = Proc("iperf3-server", ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.port),
                                           "--forceflush"],
                         counted=(self.LISTENING, self.ACCEPTED))
        self.proc.wait_line(r"Server listening on", 15)

    def wait_idle(self):
        """Waits until the server listens again after its last test. Between tests it closes
        and reopens its listening socket; a test started then is refused, which a tunnel
        (having accepted the client already) can only pass on as a reset."""
        self.ensure()
        self.proc.wait_counts(lambda c: c[self.LISTENING] > c[self.ACCEPTED], 30,
                              "listening again after its last test")

    def ensure(self):
        if not self.proc.alive():
            log("iperf3 server died; restarting it")
            self.restart()

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


def iperf_json(argv, timeout):
    """Runs an iperf3 client with -J; returns its parsed report."""
    # The server may still be tearing down the previous test for a moment
    # ("the server is busy running a test"): retry that, a few times only.
    for attempt in range(6):
        rc, out = run_tool(argv, timeout, "iperf3", check=False)
        try:
            data = json.loads(out)
        except ValueError:
            raise BenchError(f"iperf3: exit {rc}, unparsable output")
        if data.get("error"):
            if "busy" in data["error"] and attempt < 5:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise BenchError(f"iperf3: {data['error']}")
        if rc != 0:
            raise BenchError(f"iperf3: exit {rc}")
        return data


def iperf_run(cfg, port, reverse, streams):
    argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J", "--connect-timeout", "5000"]
    if cfg.smoke:
        argv += ["-n", str(cfg.iperf_bytes)]
        timeout = 60
    else:
        argv += ["-t", str(cfg.iperf_seconds), "-O", str(cfg.iperf_omit)]
        timeout = cfg.iperf_seconds + cfg.iperf_omit + 30
    if streams > 1:
        argv += ["-P", str(streams)]
    if reverse:
        argv += ["-R"]
    data = iperf_json(argv, timeout)
    end = data.get("end", {})
    recv = end.get("sum_received", {})
    gbps = recv.get("bits_per_second", 0) / 1e9
    moved = sum(iv.get("sum", {}).get("bytes", 0) for iv in data.get("intervals", []))
    moved = max(moved, recv.get("bytes", 0))
    if gbps <= 0 or moved <= 0:
        raise BenchError("iperf3 moved no data")
    return gbps, moved


def iperf_through(tunnel, metric, run):
    """One iperf3 run through a started path; an error names the metric, and a path process
    that died is reported as such."""
    try:
        result = run()
    except BenchError as e:
        tunnel.check_alive()
        raise BenchError(f"{metric}: {e}")
    tunnel.check_alive()
    return result


def cpu_snapshot(tunnel):
    return {role: tree_cpu(p.pid) for role, p in tunnel.procs.items()}


def group_throughput(cfg, res, rnd, path, iperf):
    """iperf3 1 and 8 streams, both directions; CPU per GiB from the 1-stream runs."""
    iperf.ensure()
    t = start_path(cfg, path, iperf.port, f"thr-r{rnd}")
    try:
        cpu_used = {role: 0.0 for role in t.procs}
        cpu_bytes = 0
        for streams in (1, 8):
            for reverse in (False, True):
                metric = f"thr{streams}_{'down' if reverse else 'up'}"
                iperf.wait_idle()
                settled = {role: len(tree_pids(p.pid)) for role, p in t.procs.items()}
                before = cpu_snapshot(t)
                gbps, moved = iperf_through(
                    t, metric, lambda: iperf_run(cfg, t.port, reverse, streams))
                for role, p in t.procs.items():
                    wait_children_reaped(p.pid, settled=settled[role])
                after = cpu_snapshot(t)
                res.add(metric, path, gbps)
                if streams == 1:
                    for role in t.procs:
                        cpu_used[role] += after[role] - before[role]
                    cpu_bytes += moved
                log(f"  {path:6s} {metric}: {gbps:.2f} Gbit/s")
        for role, secs in cpu_used.items():
            res.add(f"cpu_{role}", path, secs / (cpu_bytes / GIB))
        if cpu_used:
            res.add("cpu_total", path, sum(cpu_used.values()) / (cpu_bytes / GIB))
        note_socat_tls_cipher(cfg, t)
    finally:
        t.stop()


def iperf_udp_run(cfg, port, mbps):
    """`iperf3 -u` at an offered rate, client→server; (delivered Mbit/s, % of datagrams lost)
    as the server counted them."""
    argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J", "--connect-timeout", "5000",
            "-u", "-b", f"{mbps}M", "-l", str(UDP_LENGTH), "-t", str(cfg.udp_seconds)]
    recv = iperf_json(argv, cfg.udp_seconds + 30).get("end", {}).get("sum_received", {})
    if recv.get("bytes", 0) <= 0:
        raise BenchError("iperf3 -u delivered no datagram")
    return recv.get("bits_per_second", 0) / 1e6, recv.get("lost_percent", 100.0)


def group_udp(cfg, res, rnd, path, iperf):
    """iperf3 -u at each offered rate: delivered rate and loss."""
    iperf.ensure()
    t = start_path(cfg, path, iperf.port, f"udp-r{rnd}", UDP_STARTERS)
    try:
        for mbps in UDP_RATES:
            iperf.wait_idle()
            delivered, lost = iperf_through(t, f"udp {mbps} Mbit/s",
                                            lambda: iperf_udp_run(cfg, t.port, mbps))
            res.add(f"udp{mbps}_rate", path, delivered)
            res.add(f"udp{mbps}_loss", path, lost)
            log(f"  {path:6s} udp {mbps} Mbit/s offered: {delivered:.0f} Mbit/s delivered, "
                f"{lost:.2f} % lost")
    finally:
        t.stop()


def group_setup(cfg, res, rnd, path, echo_port):
    """Time to first byte of new connections: `benchtool firstbyte`, sequential connections,
    each timed from connect() to the first byte of its echoed 64-byte request."""
    t = start_path(cfg, path, echo_port, f"setup-r{rnd}")
    try:
        tool = cfg.benchtool
        # Warms the path up (e.g. our session handshake), so only per-connection set-up is timed.
        run_tool([tool, "connrate", str(t.port), "--count", "5", "--seconds", "10"], 30,
                 f"{path} probe")
        out = run_tool([tool, "firstbyte", str(t.port), "--count", str(cfg.setup_count),
                        "--seconds", str(cfg.setup_seconds), "--size", "64"],
                       cfg.setup_seconds + 30, f"{path} firstbyte")
        d = json.loads(out.strip().splitlines()[-1])
        res.add("ttfb_p50", path, d["p50_us"])
        res.add("ttfb_p95", path, d["p95_us"])
        t.check_alive()
        log(f"  {path:6s} time to first byte: p50 {d['p50_us']:.0f} us, p95 {d['p95_us']:.0f} us "
            f"({d['samples']} connections)")
        note_socat_tls_cipher(cfg, t)
    finally:
        t.stop()


def group_echo(cfg, res, rnd, path, echo_port):
    t = start_path(cfg, path, echo_port, f"echo-r{rnd}")
    try:
        tool = cfg.benchtool
        # Proves the path carries data and warms it up (e.g. our session handshake).
        run_tool([tool, "connrate", str(t.port), "--count", "5", "--seconds", "10"], 30,
                 f"{path} probe")
        out = run_tool([tool, "connrate", str(t.port), "--count", str(cfg.conn_count),
                        "--seconds", str(cfg.conn_seconds), "--size", "64"],
                       cfg.conn_seconds + 30, f"{path} connrate")
        d = json.loads(out.strip().splitlines()[-1])
        res.add("conn_rate", path, d["per_sec"])
        t.check_alive()
        out = run_tool([tool, "pingpong", str(t.port), "--count", str(cfg.ping_count),
                        "--seconds", str(cfg.ping_seconds), "--size", "500", "--warmup", "200"],
                       cfg.ping_seconds + 30, f"{path} pingpong")
        d2 = json.loads(out.strip().splitlines()[-1])
        res.add("lat_p50", path, d2["p50_us"])
        res.add("lat_p99", path, d2["p99_us"])
        t.check_alive()
        log(f"  {path:6s} connect+echo+close: {d['per_sec']:.0f}/s ({d['conns']} conns); "
            f"ping-pong p50 {d2['p50_us']:.1f} us p99 {d2['p99_us']:.1f} us ({d2['samples']} samples)")
    finally:
        t.stop()


class MemSampler:
    """Polls VmHWM of every process in each role's tree while a transfer runs,
    so forked socat children are seen too (for single processes VmHWM alone
    would do)."""

    def __init__(self, tunnel, interval=0.02):
        self.tunnel = tunnel
        self.interval = interval
        self.peak = {role: 0 for role in tunnel.procs}
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        for role, p in self.tunnel.procs.items():
            for pid in tree_pids(p.pid):
                self.peak[role] = max(self.peak[role], status_kib(pid, "VmHWM"))

    def _run(self):
        while not self.stop_ev.is_set():
            self.sample()
            self.stop_ev.wait(self.interval)

    def __enter__(self):
        for p in self.tunnel.procs.values():
            clear_hwm(p.pid)
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.sample()
        self.stop_ev.set()
        self.th.join(timeout=2)


def group_slow_reader(cfg, res, rnd, path, bulk_port, link=None):
    """Over a Link: its own sizes (cfg.link_slow_*) and figures prefixed with its round trip."""
    prefix, size, chunk = "", cfg.slow_bytes, cfg.slow_chunk
    if link:
        prefix, size, chunk = link_prefix(link), cfg.link_slow_bytes, cfg.link_slow_chunk
    t = start_path(cfg, path, bulk_port, f"slow-r{rnd}", link_starters(link))
    try:
        tool = cfg.benchtool
        cpu_total = {role: 0.0 for role in t.procs}
        for direction in ("up", "down"):
            with MemSampler(t) as ms:
                before = cpu_snapshot(t)
                out = run_tool([tool, "bulk", str(t.port), "--dir", direction,
                                "--bytes", str(size), "--chunk", str(chunk),
                                "--tick-us", str(cfg.slow_tick_us)],
                               cfg.slow_timeout, f"{path} slow reader {direction}")
            d = json.loads(out.strip().splitlines()[-1])
            t.check_alive()
            for role, p in t.procs.items():
                wait_children_reaped(p.pid)
            after = cpu_snapshot(t)
            for role, kib in ms.peak.items():
                res.add(f"{prefix}peak_{direction}_{role}", path, kib / 1024.0)
            for role in t.procs:
                cpu_total[role] += after[role] - before[role]
            log(f"  {path:6s} {prefix}slow reader {direction}: {d['MiB_per_s']:.0f} MiB/s, "
                "peak RSS "
                + ", ".join(f"{role} {kib / 1024:.1f} MiB" for role, kib in ms.peak.items()))
        for role, secs in cpu_total.items():
            res.add(f"{prefix}slowcpu_{role}", path, secs / (2 * size / GIB))
    finally:
        t.stop()


GUI_LINE = re.compile(
    r"moving 1 GiB in ([\d.]+) s \((\d+) MB/s\): median (\d+) ms, 99th percentile (\d+) ms, "
    r"worst (\d+) ms .*GUI thread busy ([\d.]+)%; \d+ snapshots \(([\d.]+) Hz\)")


def group_gui(cfg, res, rnd, path):
    """The desktop app's GUI thread while its engine moves 1 GiB through a mapping of the
    built-in remote at full speed: tests/gui/tst_responsiveness, Release build, offscreen.
    It fails by itself if the 99th percentile of its 10 ms timer's lateness reaches 50 ms."""
    env = {"QT_QPA_PLATFORM": "offscreen", "no_proxy": "*", "NO_PROXY": "*",
           "http_proxy": "", "https_proxy": "", "all_proxy": "",
           "HTTP_PROXY": "", "HTTPS_PROXY": "", "ALL_PROXY": ""}
    out = run_tool([cfg.bins[path]["gui"], "guiStaysResponsiveDuringOneGibibyteTransfer"], 300,
                   "tst_responsiveness", env=env)
    m = GUI_LINE.search(out)
    if not m:
        raise BenchError("tst_responsiveness printed no figures: " + out.strip()[-300:])
    seconds = float(m.group(1))
    res.add("gui_rate", path, GIB * 8 / seconds / 1e9)
    res.add("gui_p50", path, float(m.group(3)))
    res.add("gui_p99", path, float(m.group(4)))
    res.add("gui_worst", path, float(m.group(5)))
    res.add("gui_busy", path, float(m.group(6)))
    log(f"  {path:6s} desktop app, 1 GiB in {seconds:.2f} s: GUI timer late by p50 "
        f"{m.group(3)} ms, p99 {m.group(4)} ms, worst {m.group(5)} ms; GUI thread busy "
        f"{m.group(6)}%, snapshots {m.group(7)} Hz")


def settle_mem(tunnel, timeout=3.0):
    """Memory of each role once it stops moving (two readings 100 ms apart within 1%)."""
    deadline = time.monotonic() + timeout
    prev = {role: tree_mem_kib(p.pid) for role, p in tunnel.procs.items()}
    while time.monotonic() < deadline:
        time.sleep(0.1)
        cur = {role: tree_mem_kib(p.pid) for role, p in tunnel.procs.items()}
        if all(abs(cur[r] - prev[r]) <= max(0.01 * prev[r], 8) for r in cur):
            return cur
        prev = cur
    return prev


def group_idle(cfg, res, rnd, path, echo_port, link=None):
    """Over a Link: cfg.link_idle_count connections (each takes a round trip to open) and
    figures prefixed with its round trip."""
    prefix, count = "", cfg.idle_count
    if link:
        prefix, count = link_prefix(link), cfg.link_idle_count
    t = start_path(cfg, path, echo_port, f"idle-r{rnd}", link_starters(link))
    holder = None
    try:
        tool = cfg.benchtool
        run_tool([tool, "connrate", str(t.port), "--count", "3", "--seconds", "10"], 30,
                 f"{path} probe")
        for p in t.procs.values():
            wait_children_reaped(p.pid)
        before = settle_mem(t)
        holder = Proc(f"idle-{path}-r{rnd}", [tool, "idle", str(t.port), "--count",
                                              str(count), "--seconds", "120"],
                      stdin=subprocess.PIPE)
        m = holder.wait_line(r'^\{"ok":(true|false)', 150)
        if m.group(1) != "true":
            raise BenchError(f"{path}: idle connections failed: {holder.tail(1)}")
        t.check_alive()
        after = settle_mem(t)
        fds = {role: _count_fds(p.pid) for role, p in t.procs.items()}
        for role in t.procs:
            per = (after[role] - before[role]) / count  # KiB per connection
            res.add(f"{prefix}idle_{role}", path, per)
        log(f"  {path:6s} {prefix}{count} idle connections: "
            + ", ".join(f"{r} {(after[r] - before[r]) / count:.1f} KiB/conn "
                        f"({before[r] / 1024:.1f} -> {after[r] / 1024:.1f} MiB, {fds[r]} fds)"
                        for r in t.procs))
        try:
            holder.p.stdin.write(b"close\n")
            holder.p.stdin.flush()
        except OSError:
            pass
        holder.wait_line(r'^\{"closed"', 30)
    finally:
        if holder:
            holder.stop()
        t.stop()


def _count_fds(pid):
    n = 0
    for p in tree_pids(pid):
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


# --------------------------------------------------------------------------- long links, resume

# Round trips of the delay group (ms) and the link's rate cap (Mbit/s): a gigabit office or
# data-centre uplink, fast enough that a fixed per-channel window shows (2 MiB per 50 ms round
# trip is 335 Mbit/s) and slow enough that this 2-core machine carries it on every path, so the
# link and not the CPU is the limit. Both can be chosen (--delay-rtts, --delay-rate-mbit).
DELAY_RTTS_MS = (20, 50, 100)
DELAY_RATE_MBIT = 1000
# The round trip at which the slow-reader and idle-connection figures are taken again.
DELAY_MEMORY_RTT_MS = 50
DELAY_PATHS = ("direct", "ours")
# Over the same links, only the time to first byte of a new connection: the other tunnels, with
# the relay between their client and their server, and ours over wss. In the first round only:
# starting them over each link (an SSH login, node's start-up) and their two round trips per
# connection cost about 30 s a round on a loaded machine, in a group that already fills its
# share of the time budget, and a count of round trips moves little from round to round.
DELAY_TTFB_PATHS = (OURS_WSS, SSH, "node")
DELAY_TTFB_ROUNDS = 1
RESUME_PATHS = ("ours", HUB)


def link_prefix(link):
    return f"rtt{link.rtt_ms:g}_"


def link_starters(link):
    """STARTERS over a Link (STARTERS themselves without one)."""
    if link is None:
        return STARTERS
    return {
        "direct": lambda cfg, tport, tag: start_direct_over(cfg, tport, tag, link),
        "ours": lambda cfg, tport, tag: start_ours(cfg, tport, tag, link=link),
        BASELINE: lambda cfg, tport, tag: start_ours(cfg, tport, tag, BASELINE, link),
        HUB: lambda cfg, tport, tag: start_hub(cfg, tport, tag, link),
        OURS_WSS: lambda cfg, tport, tag: start_ours(cfg, tport, tag, OURS_WSS, link),
        SSH: lambda cfg, tport, tag: start_ssh(cfg, tport, tag, link),
        "node": lambda cfg, tport, tag: start_node(cfg, tport, tag, link),
    }


def first_byte_ms(port, count, seconds, pause_ms, size=64, warmup=1):
    """Median time to first byte of a new connection, in ms: connect, send `size` bytes to the
    echo server through the path, first echoed byte back (the rest is read and checked after).
    Each sample takes a round trip or more, so Python's own microseconds do not matter. The
    first `warmup` connections are not counted (a peer's first connection can pay for loading
    code); at most `count` samples, fewer (at least 3) once `seconds` have passed.

    Each connection starts `pause_ms` after the previous one closed: a new connection on a quiet
    link is what the figure is about, and ssh -L opening a channel right behind the previous
    one's close pays a round trip more at 20 and 30 ms (not at 50 ms; not after half a round
    trip's pause), which would time ssh's close, not its opening."""
    payload = bytes(range(size))
    samples = []
    deadline = time.monotonic() + seconds
    for i in range(warmup + count):
        if len(samples) >= 3 and time.monotonic() > deadline:
            break
        if i:
            time.sleep(pause_ms / 1000.0)
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(payload)
            got = s.recv(size)
            first = time.perf_counter()
            while got and len(got) < size:
                more = s.recv(size - len(got))
                if not more:
                    break
                got += more
        if got != payload:
            raise BenchError(f"first byte: echo of {len(got)} bytes instead of the {size} sent")
        if i >= warmup:
            samples.append((first - start) * 1000.0)
    return statistics.median(samples)


# Our client's log lines that bound its session set-up (connect, upgrade, TLS if any, hello),
# with their millisecond timestamps.
CLIENT_LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \w+ \S+: "


def session_setup_ms(client):
    """Ms from our client's `connecting to` to its `connected to` line (the session's hello
    answered), from the log's own timestamps: 1 ms resolution, enough over a long link."""
    def at(what):
        m = client.wait_line(CLIENT_LOG_TIME + what, 5)
        return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
    return (at("connected to ") - at("connecting to ")).total_seconds() * 1000.0


def delay_throughput(cfg, res, rnd, path, iperf, link):
    """iperf3 1 and 8 streams both ways over the link; peak RSS of the path's processes."""
    prefix = link_prefix(link)
    iperf.ensure()
    t = start_path(cfg, path, iperf.port, f"delay{link.rtt_ms:g}-r{rnd}", link_starters(link))
    try:
        with MemSampler(t) as ms:
            for streams in (1, 8):
                for reverse in (False, True):
                    metric = f"{prefix}thr{streams}_{'down' if reverse else 'up'}"
                    iperf.wait_idle()
                    gbps, _moved = iperf_through(
                        t, metric, lambda: iperf_run(cfg, t.port, reverse, streams))
                    res.add(metric, path, gbps)
                    log(f"  {path:6s} {metric}: {gbps * 1000:.0f} Mbit/s")
        for role, kib in ms.peak.items():
            res.add(f"{prefix}peak_{role}", path, kib / 1024.0)
    finally:
        t.stop()


def group_delay(cfg, res, rnd, path, iperf, echo_port, bulk_port):
    """Each round trip of cfg.delay_rtts: iperf3 1 and 8 streams both ways over the link, peak
    RSS of our processes meanwhile, time to first byte of a new connection; at
    DELAY_MEMORY_RTT_MS also the slow-reader and idle-connection figures (full run only). The
    DELAY_TTFB_PATHS: the time to first byte only, in the first DELAY_TTFB_ROUNDS rounds."""
    if path in DELAY_TTFB_PATHS and rnd > DELAY_TTFB_ROUNDS:
        return
    for rtt in cfg.delay_rtts:
        link = Link(rtt, cfg.delay_rate_mbit)
        prefix = link_prefix(link)
        if path not in DELAY_TTFB_PATHS:
            delay_throughput(cfg, res, rnd, path, iperf, link)
        t = start_path(cfg, path, echo_port, f"delay{rtt:g}-ttfb-r{rnd}", link_starters(link))
        try:
            ttfb = first_byte_ms(t.port, cfg.ttfb_count, cfg.ttfb_seconds, rtt)
            t.check_alive()
            res.add(f"{prefix}ttfb", path, ttfb)
            log(f"  {path:6s} {prefix}time to first byte: {ttfb:.1f} ms "
                f"({ttfb / rtt:.2f} round trips)")
            if path in ("ours", OURS_WSS):
                setup = session_setup_ms(t.procs["entry"])
                res.add(f"{prefix}session", path, setup)
                log(f"  {path:6s} {prefix}session set-up: {setup:.0f} ms "
                    f"({setup / rtt:.2f} round trips)")
        finally:
            t.stop()
        if (rtt == DELAY_MEMORY_RTT_MS and path in TUNNELS and path not in DELAY_TTFB_PATHS
                and not cfg.smoke):
            group_slow_reader(cfg, res, rnd, path, bulk_port, link)
            group_idle(cfg, res, rnd, path, echo_port, link)


# How long after a cut a stall of the receiving application still counts as the cut's.
RESUME_STALL_WINDOW_MS = 1000.0


def resume_timings(relay_lines, gaps):
    """Per cut of the relay: (ms from the cut to the new WebSocket, ms from the cut until the
    new WebSocket carried 64 KiB toward the client — data flowing again, longest stall in ms the
    receiving application saw within RESUME_STALL_WINDOW_MS of the cut, 0 if none of the
    threshold or more). A value is None when the relay saw no new connection, or no data on it."""
    cuts, accepted, flowing = [], [], {}
    for line in relay_lines:
        if m := re.match(Link.CUT_LINE, line):
            if int(m.group(1)) > 0:
                cuts.append(float(m.group(2)))
        elif m := re.match(Link.ACCEPT_LINE, line):
            accepted.append((float(m.group(2)), int(m.group(1))))
        elif m := re.match(Link.FLOWING_LINE, line):
            flowing[int(m.group(1))] = float(m.group(2))
    out = []
    for cut in cuts:
        after = [(at, conn) for at, conn in accepted if at >= cut]
        redial = flowing_again = None
        if after:
            at, conn = min(after)
            redial = at - cut
            if conn in flowing:
                flowing_again = flowing[conn] - cut
        stalls = [min(b, cut + RESUME_STALL_WINDOW_MS) - max(a, cut) for a, b in gaps
                  if b > cut and a < cut + RESUME_STALL_WINDOW_MS]
        out.append((redial, flowing_again, max(stalls, default=0.0)))
    return out


RESUMED_LINE = re.compile(r"session resumed after ([\d.]+) s; (\d+) connections kept")


def group_resume(cfg, res, rnd, path, bulk_port):
    """Ours with a relay in front of the remote (or the hub), no delay: one download at full
    speed for cfg.resume_base_seconds uncut, then one for cfg.resume_seconds while the relay
    resets the WebSocket every cfg.resume_cut_every seconds. The downloads must survive;
    figures: time from each cut to data flowing again and throughput with and without cuts."""
    link = Link(0)
    t = start_path(cfg, path, bulk_port, f"resume-r{rnd}", link_starters(link))
    stream = None
    try:
        tool = cfg.benchtool
        out = run_tool([tool, "stream", str(t.port), "--seconds", f"{cfg.resume_base_seconds:g}",
                        "--gap-ms", f"{cfg.resume_gap_ms:g}"],
                       cfg.resume_base_seconds + 60, f"{path} download without cuts")
        base = json.loads(out.strip().splitlines()[-1])
        t.check_alive()
        cuts_before = t.relay.counts[Link.CUT_LINE]
        stream = Proc(f"stream-{path}-r{rnd}", [tool, "stream", str(t.port), "--seconds",
                                                f"{cfg.resume_seconds:g}", "--gap-ms",
                                                f"{cfg.resume_gap_ms:g}"])
        started = time.monotonic()
        cuts_sent = 0
        # Cut at every multiple of the period, the last one at least a period before the end
        # so that its recovery is inside the run.
        while (cuts_sent + 2) * cfg.resume_cut_every <= cfg.resume_seconds + 1e-9:
            wake = started + (cuts_sent + 1) * cfg.resume_cut_every
            time.sleep(max(0.0, wake - time.monotonic()))
            if not stream.alive():
                break
            os.kill(t.relay.pid, signal.SIGUSR1)
            cuts_sent += 1
        m = stream.wait_line(r'^\{"ok":(true|false)', cfg.resume_seconds + 90)
        if m.group(1) != "true":
            raise BenchError(f"{path}: the download did not survive the cuts: {stream.tail(1)}")
        cut = json.loads(m.string)
        t.relay.wait_counts(lambda c: c[Link.CUT_LINE] >= cuts_before + cuts_sent, 10,
                            f"reported {cuts_sent} cuts")
        t.check_alive()
        with t.relay.cond:
            relay_lines = list(t.relay.lines)
        per_cut = resume_timings(relay_lines, cut["gaps_ms"])
        with t.procs["entry"].cond:
            resumed = [RESUMED_LINE.search(line) for line in t.procs["entry"].lines]
        resumed = [r for r in resumed if r]
        flowing = [f for _r, f, _s in per_cut if f is not None]
        if len(flowing) < len(per_cut) or not per_cut:
            raise BenchError(f"{path}: data flowed again after {len(flowing)} of {len(per_cut)} "
                             f"cuts; see {t.relay.logpath}")
        res.add("resume_redial_ms", path, statistics.median(r for r, _f, _s in per_cut))
        res.add("resume_recovery_ms", path, statistics.median(flowing))
        res.add("resume_stall_ms", path, statistics.median(st for _r, _f, st in per_cut))
        res.add("resume_stall_uncut_ms", path,
                max((b - a for a, b in base["gaps_ms"]), default=0.0))
        res.add("resume_thr_base", path, base["gbit_per_s"])
        res.add("resume_thr_cut", path, cut["gbit_per_s"])
        res.add("resume_thr_ratio", path, cut["gbit_per_s"] / base["gbit_per_s"])
        res.add("resume_cuts", path, len(per_cut))
        res.add("resume_logged", path, len(resumed))

        def listed(values):
            return ", ".join(f"{v:.1f}" for v in values)
        log(f"  {path:6s} {len(per_cut)} cuts, {len(resumed)} 'session resumed' lines "
            f"({', '.join(r.group(1) + ' s' for r in resumed)}); cut -> new WebSocket "
            f"{listed(r for r, _f, _s in per_cut)} ms; -> data flowing again {listed(flowing)} ms;"
            f" receiver's longest stall {listed(st for _r, _f, st in per_cut)} ms; "
            f"{cut['gbit_per_s']:.2f} Gbit/s with cuts, {base['gbit_per_s']:.2f} without")
    finally:
        if stream:
            stream.stop()
        t.stop()


def measure_startup(cfg, res):
    """Process start-up cost: `--version` (or help) run to exit, via hyperfine."""
    if not shutil.which("hyperfine"):
        res.notes.append("hyperfine missing: start-up time not measured")
        return
    cmds = {path: f"{bins['client']} --version" for path, bins in cfg.bins.items()}
    cmds.update({
        "node": f"node {NODE_WSTT} --help",
        "socat": "socat -V",
    })
    paths = [p for p in cmds if p in cfg.paths]
    # With a baseline, ours and ours-before run once per round, alternating like in every
    # other group, so their comparison has a spread across rounds; the peers run once.
    rounds = cfg.rounds if BASELINE in paths else 1
    for rnd in range(1, rounds + 1):
        for path in round_order(paths if rnd == 1 else
                                [p for p in paths if p in ("ours", BASELINE)], rnd):
            jpath = os.path.join(WORK, f"hyperfine-{path}.json")
            try:
                run_tool(["hyperfine", "-N", "--style", "none", "--warmup", "2", "--runs", "10",
                          "--export-json", jpath, cmds[path]], 120, f"hyperfine {path}")
                with open(jpath) as f:
                    r = json.load(f)["results"][0]
                res.add("startup_ms", path, r["median"] * 1000.0)
            except (BenchError, ValueError, KeyError, OSError) as e:
                res.notes.append(f"start-up time of {path} not measured: {e}")


# --------------------------------------------------------------------------- report

def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is None:
        digits = 2 if abs(v) < 10 else (1 if abs(v) < 1000 else 0)
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    """A ratio as the tables show it: two decimals and ×, or — where there is none."""
    return "—" if r is None else f"{r:.2f}×"


def machine_info(cfg):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, timeout=10,
                                  text=True).stdout.strip()
        except Exception:
            return ""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    qt = sh("qtpaths6 --qt-version") or sh("pkg-config --modversion Qt6Core") \
        or sh("dpkg-query -W -f='${Version}' libqt6core6")
    return {
        "nproc": sh("nproc"),
        "cpu": cpu,
        "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""),
        "qt": qt,
        "compiler": sh("c++ --version | head -n1"),
        "ours_version": sh(f"{cfg.bins['ours']['client']} --version 2>&1 | head -n1"),
        "baseline_version": sh(f"{cfg.bins[BASELINE]['client']} --version 2>&1 | head -n1")
                            if BASELINE in cfg.bins else "",
        "commit": sh(f"git -C {ROOT} rev-parse --short HEAD 2>/dev/null")
                  + (" (dirty)" if sh(f"git -C {ROOT} status --porcelain -- core app 2>/dev/null") else ""),
        "loadavg": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "node": sh("node --version"),
        "iperf3": sh("iperf3 --version | head -n1"),
        "socat": sh("socat -V | sed -n 2p"),
        "openssh": sh("ssh -V 2>&1"),
    }


ROWS = [
    # key, label, unit-digits, higher_is_better, per-role
    ("thr1_up", "iperf3 1 stream, client→server (Gbit/s)", None, True),
    ("thr1_down", "iperf3 1 stream, server→client `-R` (Gbit/s)", None, True),
    ("thr8_up", "iperf3 8 streams, client→server (Gbit/s)", None, True),
    ("thr8_down", "iperf3 8 streams, server→client `-R` (Gbit/s)", None, True),
    ("udp100_rate", "UDP `iperf3 -u -b 100M`, client→server: delivered (Mbit/s)", 0, True),
    ("udp100_loss", "UDP `iperf3 -u -b 100M`: datagrams lost (%)", 2, False),
    ("udp1000_rate", "UDP `iperf3 -u -b 1G`, client→server: delivered (Mbit/s)", 0, True),
    ("udp1000_loss", "UDP `iperf3 -u -b 1G`: datagrams lost (%)", 2, False),
    ("conn_rate", "connection setup: connect → 64 B echo → close (conn/s)", 0, True),
    ("ttfb_p50", "time to first byte of a new connection, p50 (µs)", 0, False),
    ("ttfb_p95", "time to first byte of a new connection, p95 (µs)", 0, False),
    ("lat_p50", "latency 500 B ping-pong, p50 (µs)", 1, False),
    ("lat_p99", "latency 500 B ping-pong, p99 (µs)", 1, False),
    ("lat_p50_added", "latency p50 added over direct (µs)", 1, False),
    ("lat_p99_added", "latency p99 added over direct (µs)", 1, False),
    ("cpu_entry", "CPU s/GiB, client-side process (iperf3 1 stream, both directions)", 2, False),
    ("cpu_exit", "CPU s/GiB, server-side process (iperf3 1 stream, both directions)", 2, False),
    ("cpu_hub", "CPU s/GiB, hub process (iperf3 1 stream, both directions)", 2, False),
    ("cpu_total", "CPU s/GiB, all tunnel processes together (iperf3 1 stream, both directions)",
     2, False),
    ("peak_up_entry", "peak RSS, slow reader at target, client-side process (MiB)", 1, False),
    ("peak_up_exit", "peak RSS, slow reader at target, server-side process (MiB)", 1, False),
    ("peak_down_entry", "peak RSS, slow reader at client, client-side process (MiB)", 1, False),
    ("peak_down_exit", "peak RSS, slow reader at client, server-side process (MiB)", 1, False),
    ("peak_up_hub", "peak RSS, slow reader at target, hub process (MiB)", 1, False),
    ("peak_down_hub", "peak RSS, slow reader at client, hub process (MiB)", 1, False),
    ("slowcpu_entry", "CPU s/GiB, client-side process (slow-reader transfers, both)", 2, False),
    ("slowcpu_exit", "CPU s/GiB, server-side process (slow-reader transfers, both)", 2, False),
    ("idle_entry", "memory per idle connection, client-side process (KiB)", 1, False),
    ("idle_exit", "memory per idle connection, server-side process (KiB)", 1, False),
    ("startup_ms", "start-up, `--version` to exit (ms, hyperfine)", 1, False),
    ("gui_rate", "desktop app: 1 GiB through a mapping of its built-in remote (Gbit/s)", None,
     True),
    ("gui_p50", "desktop app: GUI 10 ms timer late by, p50, during that transfer (ms)", 0, False),
    ("gui_p99", "desktop app: GUI 10 ms timer late by, p99, during that transfer (ms)", 0, False),
    ("gui_worst", "desktop app: GUI 10 ms timer late by, worst, during that transfer (ms)", 0,
     False),
    ("gui_busy", "desktop app: GUI thread busy during that transfer (%)", 1, False),
]


def derive(res):
    # Latency added over direct: per path median minus the direct median.
    for pct in ("p50", "p99"):
        d = res.median(f"lat_{pct}", "direct")
        if d is None:
            continue
        for path in TUNNELS:
            v = res.median(f"lat_{pct}", path)
            if v is not None:
                res.samples.setdefault(f"lat_{pct}_added", {})[path] = [v - d]


def targets(res):
    """(row key, target text, PASS/FAIL/n/a) for the issue's targets."""
    out = {}
    m = res.median
    for key in ("thr1_up", "thr1_down"):
        o, n, s = m(key, "ours"), m(key, "node"), m(key, "socat")
        if o is None or n is None or s is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if (o >= 2 * n and o >= 0.5 * s) else "FAIL"
        out[key] = ("≥ 2× node and ≥ 0.5× socat", verdict)
    o, n = m("conn_rate", "ours"), m("conn_rate", "node")
    out["conn_rate"] = ("≥ 5× node", "n/a" if o is None or n is None
                        else ("PASS" if o >= 5 * n else "FAIL"))
    o, n = m("lat_p50_added", "ours"), m("lat_p50_added", "node")
    out["lat_p50_added"] = ("≤ node", "n/a" if o is None or n is None
                            else ("PASS" if o <= n else "FAIL"))
    for key in ("peak_up_entry", "peak_up_exit", "peak_down_entry", "peak_down_exit"):
        o = m(key, "ours")
        out[key] = ("≤ 64 MiB", "n/a" if o is None else ("PASS" if o <= 64 else "FAIL"))
    for key in ("idle_entry", "idle_exit"):
        o = m(key, "ours")
        out[key] = ("≤ 64 KiB", "n/a" if o is None else ("PASS" if o <= 64 else "FAIL"))
    o = m("gui_p99", "ours")
    out["gui_p99"] = ("< 50 ms", "n/a" if o is None else ("PASS" if o < 50 else "FAIL"))
    return out


# The issue's targets for the hub path: (row key, target text, holds(ours, hub)).
HUB_TARGETS = {
    "thr1_up": ("≥ 0.7× ours", lambda o, h: h >= 0.7 * o),
    "thr1_down": ("≥ 0.7× ours", lambda o, h: h >= 0.7 * o),
    "peak_up_hub": ("≤ 64 MiB", lambda _o, h: h <= 64),
    "peak_down_hub": ("≤ 64 MiB", lambda _o, h: h <= 64),
}
HUB_ROWS = ["thr1_up", "thr1_down", "thr8_up", "thr8_down", "conn_rate", "ttfb_p50", "ttfb_p95",
            "lat_p50", "lat_p99",
            "cpu_entry", "cpu_hub", "cpu_exit", "peak_up_entry", "peak_up_hub", "peak_up_exit",
            "peak_down_entry", "peak_down_hub", "peak_down_exit"]


def hub_verdict(res, key):
    text, holds = HUB_TARGETS[key]
    o, h = res.median(key, "ours"), res.median(key, HUB)
    if h is None or (o is None and key.startswith("thr")):
        return text, "n/a"
    return text, "PASS" if holds(o, h) else "FAIL"


def render_hub(res):
    """Ours through a hub beside ours direct, and the chain of three socat relays beside the chain
    of two (what a third relay costs any relay here), "" when the hub path was not measured."""
    rows = {k: (label, digits) for k, label, digits, _h in ROWS}
    lines = ["| metric | ours | ours through hub | hub/ours | socat chain | socat chain of three "
             "| three/two | target | result |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for key in HUB_ROWS:
        o, h = res.median(key, "ours"), res.median(key, HUB)
        if h is None:
            continue
        s2, s3 = res.median(key, "socat"), res.median(key, SOCAT3)
        label, digits = rows[key]
        if key.endswith("_hub"):
            label = label.replace("hub process", "hub (`wstunnel-remote hub`) / middle relay")
        tgt, verdict = hub_verdict(res, key) if key in HUB_TARGETS else ("", "")
        verdict = {"PASS": "✅ PASS", "FAIL": "❌ FAIL"}.get(verdict, verdict)
        lines.append(f"| {label} | {fmt(o, digits)} | {fmt(h, digits)} | {fmt_ratio(ratio(h, o))} | "
                     f"{fmt(s2, digits)} | {fmt(s3, digits)} | {fmt_ratio(ratio(s3, s2))} | {tgt} | "
                     f"{verdict} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def render_hub_targets(res):
    labels = {k: l for k, l, _d, _h in ROWS}
    out = []
    for key in HUB_TARGETS:
        text, verdict = hub_verdict(res, key)
        o, h = res.median(key, "ours"), res.median(key, HUB)
        shown = f"hub path {fmt(h)}" + (f", ours {fmt(o)} ({fmt(ratio(h, o))}×)"
                                        if key.startswith("thr") else "")
        s2, s3 = res.median(key, "socat"), res.median(key, SOCAT3)
        if key.startswith("thr") and s2 is not None and s3 is not None:
            shown += (f"; {LABEL[SOCAT3]} {fmt(s3)}, {LABEL['socat']} {fmt(s2)} "
                      f"({fmt(ratio(s3, s2))}×)")
        out.append(f"- {verdict}: {labels[key]}: {shown}, target {text}")
    return "\n".join(out)


# The issue's targets over TLS, ours over wss against each peer: (row key, peer, factor,
# higher is better): ours ≥ factor × peer, or ≤ for CPU.
TLS_TARGETS = [
    ("thr1_up", SOCAT_TLS, 1.2, True),
    ("thr1_up", SSH, 1.5, True),
    ("thr1_down", SOCAT_TLS, 1.2, True),
    ("thr1_down", SSH, 1.5, True),
    ("cpu_total", SOCAT_TLS, 1.0, False),
]
TLS_ROWS = ["thr1_up", "thr1_down", "thr8_up", "thr8_down", "cpu_entry", "cpu_exit", "cpu_total",
            "ttfb_p50", "ttfb_p95"]
VERDICT_SHOWN = {"PASS": "✅ PASS", "FAIL": "❌ FAIL"}


def tls_verdict(res, key, peer, factor, higher):
    w, p = res.median(key, OURS_WSS), res.median(key, peer)
    if w is None or p is None:
        return "n/a"
    return "PASS" if (w >= factor * p if higher else w <= factor * p) else "FAIL"


def tls_target_text(peer, factor, higher):
    return f"{'≥' if higher else '≤'} {'' if factor == 1 else f'{factor:g}× '}{LABEL[peer]}"


def render_tls(res):
    """Ours over wss beside the socat TLS pair and ssh -L (and ours over ws for reference), ""
    when no TLS path was measured."""
    rows = {k: (label, digits) for k, label, digits, _h in ROWS}
    lines = [f"| metric | {LABEL['ours']} (ws) | {LABEL[OURS_WSS]} | {LABEL[SOCAT_TLS]} | "
             f"{LABEL[SSH]} | wss/socat TLS | wss/ssh | target | result |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for key in TLS_ROWS:
        vals = {p: res.median(key, p) for p in ["ours"] + TLS_PATHS}
        if all(vals[p] is None for p in TLS_PATHS):
            continue
        label, digits = rows[key]
        rats = [ratio(vals[OURS_WSS], vals[peer]) for peer in (SOCAT_TLS, SSH)]
        goals = [t[1:] for t in TLS_TARGETS if t[0] == key]
        target = "; ".join(tls_target_text(*g) for g in goals)
        result = "; ".join(
            (f"{LABEL[g[0]]}: " if len(goals) > 1 else "")
            + VERDICT_SHOWN.get(tls_verdict(res, key, *g), "n/a") for g in goals)
        lines.append(f"| {label} | " + " | ".join(fmt(vals[p], digits) for p in ["ours"] + TLS_PATHS)
                     + " | " + " | ".join(fmt_ratio(r) for r in rats)
                     + f" | {target} | {result} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def render_tls_targets(res):
    labels = {k: l for k, l, _d, _h in ROWS}
    out = []
    for key, peer, factor, higher in TLS_TARGETS:
        w, p = res.median(key, OURS_WSS), res.median(key, peer)
        out.append(f"- {tls_verdict(res, key, peer, factor, higher)}: {labels[key]}: "
                   f"{LABEL[OURS_WSS]} {fmt(w)}, {LABEL[peer]} {fmt(p)}"
                   + (f" ({fmt(ratio(w, p))}×)" if ratio(w, p) is not None else "")
                   + f", target {tls_target_text(peer, factor, higher)}")
    return "\n".join(out)


def tls_ciphers(cfg):
    """What the TLS paths negotiated, as far as the run saw it."""
    out = []
    if getattr(cfg, "ssh_cipher", None):
        out.append(f"ssh -L: {cfg.ssh_cipher} (OpenSSH's default)")
    if getattr(cfg, "socat_tls_cipher", None):
        out.append(f"socat TLS pair: {cfg.socat_tls_cipher}")
    return "; ".join(out)


def render_table(res, cfg):
    tg = targets(res)
    head = ("| metric | direct | socat chain | node wstunnel | ours | ours/direct | ours/socat "
            "| ours/node | target | result |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for key, label, digits, _hib in ROWS:
        if key not in res.samples:
            continue
        vals = {p: res.median(key, p) for p in PATHS}
        if all(v is None for v in vals.values()):
            continue
        cells = [fmt(vals[p], digits) for p in PATHS]
        rat = []
        for peer in PEERS:
            r = ratio(vals["ours"], vals[peer])
            if key.endswith("_added") and peer == "direct":
                r = None
            rat.append(fmt_ratio(r))
        tgt, verdict = tg.get(key, ("", ""))
        if verdict == "PASS":
            verdict = "✅ PASS"
        elif verdict == "FAIL":
            verdict = "❌ FAIL"
        lines.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(rat)
                     + f" | {tgt} | {verdict} |")
    return "\n".join(lines)


def render_targets(res):
    tg = targets(res)
    labels = {k: l for k, l, _d, _h in ROWS}
    out = []
    for key, (text, verdict) in tg.items():
        out.append(f"- {verdict}: {labels[key]}: ours {fmt(res.median(key, 'ours'))}, target {text}")
    return "\n".join(out)


def measured_paths(res):
    """The paths a report lists: ours-before only when it was measured."""
    return PATHS + [p for p in [BASELINE, HUB, SOCAT3] + TLS_PATHS
                    if any(p in per for per in res.samples.values())]


def render_per_round(res):
    labels = {k: l for k, l, _d, _h in ROWS}
    paths = measured_paths(res)
    out = ["| metric | " + " | ".join(LABEL[p] for p in paths) + " |",
           "|---|" + "---|" * len(paths)]
    for key, _label, digits, _h in ROWS:
        per = res.samples.get(key)
        if not per or key.endswith("_added"):
            continue
        cells = [" / ".join(fmt(v, digits) for v in per.get(p, [])) or "—" for p in paths]
        out.append(f"| {labels[key]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def render_rounds(res):
    """Rounds each path completed (start-up is hyperfine's own 10 runs, once)."""
    n = {}
    for metric, per in res.samples.items():
        if metric == "startup_ms" or metric.endswith("_added"):
            continue
        for path, vals in per.items():
            n.setdefault(path, set()).add(len(vals))
    return ", ".join(f"{LABEL[p]}: {'/'.join(str(x) for x in sorted(s))}"
                     for p, s in sorted(n.items(),
                                        key=lambda kv: ALL_PATHS.index(kv[0])))


# Below 3 values per build the spread says too little: comparing a build with itself, the
# medians of 2 rounds each land outside the larger spread for about 1 figure in 5 (1 in 16
# with 3 rounds, 1 in 250 with 5; normal noise, simulated).
MIN_VALUES_FOR_VERDICT = 3


def spread(res, key, path):
    """Run-to-run noise of a figure: max − min of its values across rounds, None with too few
    values. An "added over direct" figure moves with its latency figure (direct's median is
    the same for every path), so it takes that spread."""
    src = key[:-len("_added")] if key.endswith("_added") else key
    vals = res.samples.get(src, {}).get(path, [])
    if len(vals) < MIN_VALUES_FOR_VERDICT:
        return None
    return max(vals) - min(vals)


def compare_before_after(res):
    """[(key, label, digits, before, after, noise, verdict)] for every figure both builds have.
    A difference counts only when the medians differ by more than the noise: the larger of the
    two builds' spreads, so no single round of either build would have looked like it."""
    rows = []
    for key, label, digits, higher_is_better in ROWS:
        before, after = res.median(key, BASELINE), res.median(key, "ours")
        if before is None or after is None:
            continue
        noises = [spread(res, key, BASELINE), spread(res, key, "ours")]
        noise = None if None in noises else max(noises)
        diff = after - before
        if noise is None:
            verdict = "n/a"
        elif abs(diff) <= noise:
            verdict = "within noise"
        else:
            verdict = "better" if (diff > 0) == higher_is_better else "worse"
        rows.append((key, label, digits, before, after, noise, verdict))
    return rows


def render_before_after(rows):
    shown = {"better": "✅ better", "worse": "❌ worse", "within noise": "≈ within noise",
             "n/a": f"n/a (< {MIN_VALUES_FOR_VERDICT} rounds)"}
    lines = ["| metric | before | after | after/before | after − before | noise (larger "
             "max − min across rounds) | beyond noise? |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for _key, label, digits, before, after, noise, verdict in rows:
        r = ratio(after, before)
        diff = after - before
        pct = f" ({100 * diff / abs(before):+.1f}%)" if before else ""
        lines.append(f"| {label} | {fmt(before, digits)} | {fmt(after, digits)} | "
                     + fmt_ratio(r)
                     + f" | {'+' if diff >= 0 else ''}{fmt(diff, digits)}{pct} | "
                     + f"{fmt(noise, digits)} | {shown[verdict]} |")
    return "\n".join(lines)


def summarize_before_after(rows):
    labels = {"worse": [], "better": [], "n/a": []}
    for _key, label, _d, _b, _a, _n, verdict in rows:
        if verdict in labels:
            labels[verdict].append(label)
    out = [f"{len(labels['worse'])} of {len(rows)} figures worse beyond the noise"
           + (": " + "; ".join(labels["worse"]) if labels["worse"] else ""),
           f"{len(labels['better'])} better beyond the noise"
           + (": " + "; ".join(labels["better"]) if labels["better"] else "")]
    if labels["n/a"]:
        out.append(f"{len(labels['n/a'])} without a verdict: fewer than {MIN_VALUES_FOR_VERDICT} "
                   f"rounds per build (run --rounds {MIN_VALUES_FOR_VERDICT} or more)")
    return out


def existing_profile_section():
    try:
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"^## Profile findings\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        return None
    body = m.group(1).strip()
    return body or None


def machine_busy_seconds():
    """user+nice+system CPU seconds of the whole machine so far (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return sum(int(x) for x in fields[1:4]) / CLK_TCK
    except (OSError, ValueError):
        return 0.0


def own_cpu_seconds():
    """CPU seconds of this driver and every child it has reaped (their reaped
    children included: socat's forks, iperf3, benchtool, node, ours)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def other_load(cfg, elapsed):
    """(CPU seconds used by processes the benchmark did not start, capacity)."""
    cores = os.cpu_count() or 1
    others = (machine_busy_seconds() - cfg.busy_start) - (own_cpu_seconds() - cfg.own_start)
    return max(others, 0.0), cores * elapsed


def busy_warning(others, capacity):
    """A warning paragraph when other work shared the machine during the run."""
    if capacity <= 0 or others / capacity <= 0.10:
        return ""
    return (f"\n> ⚠ Other work shared the machine during this run: processes the benchmark "
            f"did not start used {others:.0f} CPU-seconds of the {capacity:.0f} available "
            f"({100 * others / capacity:.0f}%). Absolute figures are low and noisy (compare "
            f"direct with the ~25 Gbit/s of an idle machine); compare paths within this run.\n")


def before_after_section(cfg, res, info):
    """The doc's "Before and after" section (ending in a newline), "" without a baseline."""
    rows = compare_before_after(res)
    if not rows:
        return ""
    summary = "\n".join(f"- {line}" for line in summarize_before_after(rows))
    return f"""
## Before and after

"after" is ours above; "before" is `{info['baseline_version']}` from
`{cfg.baseline_label}`, measured in the same run exactly like ours (same
groups, fresh processes per round, rounds alternating with the other paths; the
two swap places every other round). Noise is judged per figure: the spread
(max − min) of its values across the rounds of each build (start-up too runs once
per round), and the larger of the two spreads. A figure is better or worse
only when the two medians differ by more than that, and only with at least
{MIN_VALUES_FOR_VERDICT} rounds. Even a build compared with itself lands outside
that noise for about 1 figure in 16 at 3 rounds (1 in 250 at 5): rerun to confirm
a single "worse".

{render_before_after(rows)}

{summary}
"""


def hub_section(res):
    """The doc's "Hub path" section (ending in a newline), "" without the hub path."""
    table = render_hub(res)
    if not table:
        return ""
    return f"""
## Hub path

Ours through a hub: `wstunnel --headless --agent bench` → `wstunnel-remote hub` →
`wstunnel-remote agent --name bench` → target, all on loopback, measured in the same
rounds and groups as ours direct (the idle group excepted). The issue's targets: at
least 0.7× the direct tunnel's single-stream throughput each way, hub peak RSS ≤ 64 MiB
with a slow reader behind the agent ("up") or behind the desktop ("down"). Beside them, in
the throughput group, the peer of that comparison: three socat relays in a row (`-b 262144`)
against the socat chain of two, what a third relay costs any relay on this machine.

{table}

{render_hub_targets(res)}
"""


def tls_section(cfg, res):
    """The doc's "Over TLS" section (ending in a newline), "" without a TLS path."""
    table = render_tls(res)
    if not table:
        return ""
    ciphers = tls_ciphers(cfg)
    return f"""
## Over TLS

Ours over `wss://` beside the two TLS references, measured in the same rounds
(throughput and time to first byte), with ours over plain `ws://` for reference:

- **ours over wss**: `wstunnel-remote --tls-cert server.pem --tls-key server.key` and
  `wstunnel --headless --remote wss://127.0.0.1:P --ca-file ca.pem`; one TLS connection
  carries every tunnelled connection.
- **socat TLS pair**: `socat -b 262144 TCP4-LISTEN:… OPENSSL:…,cafile=ca.pem,verify=1` →
  `socat -b 262144 OPENSSL-LISTEN:…,cert=server.pem,key=server.key TCP4:target`: a forked
  process pair and a TLS handshake per connection.
- **ssh -L**: `ssh -N -L …` through Debian's OpenSSH `sshd`, started by the harness on a
  loopback port with its own configuration, host key and authorized key (`UsePAM no`); one
  SSH connection carries every forwarded connection as a channel.

The CA and the server certificate (EC P-256, for IP 127.0.0.1) and the SSH keys are
generated for each run in `bench/.work`.
Negotiated: {ciphers or "not seen"}.

CPU is the client-side process (wstunnel / the first socat / ssh), the server-side process
(wstunnel-remote / the second socat / sshd with its session processes) and both together.
The issue's targets: one stream each way ≥ 1.2× the socat TLS pair and ≥ 1.5× ssh -L, and
CPU per GiB (both processes) no higher than the socat TLS pair's.

{table}

{render_tls_targets(res)}
"""


# The issue's targets over a long link are judged at this round trip; the others are reported.
LINK_TARGET_RTT_MS = 50
LINK_THROUGHPUT_TARGET = 0.8  # ours / direct through the same relay
LINK_ROWS = [
    # key (after the rtt prefix), label, digits, scale
    ("thr1_up", "iperf3 1 stream, client→server (Mbit/s)", 0, 1000),
    ("thr1_down", "iperf3 1 stream, server→client `-R` (Mbit/s)", 0, 1000),
    ("thr8_up", "iperf3 8 streams, client→server (Mbit/s)", 0, 1000),
    ("thr8_down", "iperf3 8 streams, server→client `-R` (Mbit/s)", 0, 1000),
    ("ttfb", "time to first byte of a new connection, median (ms)", 1, 1),
    ("session", "session set-up before it: the client's `connecting to` → `connected to` (ms)",
     0, 1),
    ("peak_entry", "peak RSS during those iperf3 runs, client-side process (MiB)", 1, 1),
    ("peak_exit", "peak RSS during those iperf3 runs, server-side process (MiB)", 1, 1),
] + [(key, label, digits, 1) for key, label, digits, _h in ROWS
     if key.startswith(("peak_up_", "peak_down_", "idle_")) and not key.endswith("_hub")]
# The rows also shown in round trips, with the DELAY_TTFB_PATHS beside direct and ours.
LINK_ROUND_TRIP_KEYS = {"ttfb": "time to first byte in round trips",
                        "session": "session set-up in round trips"}
LINK_MEMORY_TARGETS = {"peak_up_entry": 64, "peak_up_exit": 64, "peak_down_entry": 64,
                       "peak_down_exit": 64, "idle_entry": 64, "idle_exit": 64}


def link_rtts(res):
    """The round trips the delay group measured (ms), ascending."""
    rtts = set()
    for key in res.samples:
        m = re.match(r"^rtt([\d.]+)_", key)
        if m:
            rtts.add(float(m.group(1)))
    return [int(r) if r == int(r) else r for r in sorted(rtts)]


def link_verdict(res, rtt, key):
    """(target text, PASS/FAIL/n/a/"") of a long-link figure."""
    o, d = res.median(f"rtt{rtt:g}_{key}", "ours"), res.median(f"rtt{rtt:g}_{key}", "direct")
    if key.startswith("thr") and rtt == LINK_TARGET_RTT_MS:
        text = f"≥ {LINK_THROUGHPUT_TARGET}× direct"
        return text, "n/a" if o is None or d is None else (
            "PASS" if o >= LINK_THROUGHPUT_TARGET * d else "FAIL")
    if key in LINK_MEMORY_TARGETS and rtt == LINK_TARGET_RTT_MS:
        limit = LINK_MEMORY_TARGETS[key]
        text = f"≤ {limit} {'KiB' if key.startswith('idle') else 'MiB'}"
        return text, "n/a" if o is None else ("PASS" if o <= limit else "FAIL")
    return "", ""


def link_ttfb_peers(res, rtt):
    """The DELAY_TTFB_PATHS whose time to first byte was measured at this round trip."""
    return [p for p in DELAY_TTFB_PATHS if res.median(f"rtt{rtt:g}_ttfb", p) is not None]


def render_link_table(res, rtt):
    """direct and ours for every figure; beside them, on the time-to-first-byte rows only, the
    DELAY_TTFB_PATHS measured."""
    peers = link_ttfb_peers(res, rtt)
    rounds_of = "; ".join(["direct", "ours"] + [LABEL[p] for p in peers])
    lines = ["| metric | direct | ours | " + "".join(f"{LABEL[p]} | " for p in peers)
             + f"ours/direct | target | result | per round: {rounds_of} |",
             "|---|---:|---:|" + "---:|" * len(peers) + "---:|---|---|---|"]
    for key, label, digits, scale in LINK_ROWS:
        metric = f"rtt{rtt:g}_{key}"
        o, d = res.median(metric, "ours"), res.median(metric, "direct")
        shown = [p for p in peers if key in LINK_ROUND_TRIP_KEYS]
        if o is None and d is None and not shown:
            continue
        r = ratio(o, d)
        tgt, verdict = link_verdict(res, rtt, key)
        verdict = {"PASS": "✅ PASS", "FAIL": "❌ FAIL"}.get(verdict, verdict)
        rounds = "; ".join(" / ".join(fmt(v * scale, digits) for v in
                                      res.samples.get(metric, {}).get(p, []))
                           or "—" for p in ["direct", "ours"] + shown)
        cells = [res.median(metric, p) if key in LINK_ROUND_TRIP_KEYS else None for p in peers]
        lines.append(f"| {label} | {fmt(None if d is None else d * scale, digits)} | "
                     f"{fmt(None if o is None else o * scale, digits)} | "
                     + "".join(f"{fmt(v, digits)} | " for v in cells)
                     + fmt_ratio(r)
                     + f" | {tgt} | {verdict} | {rounds} |")
        if key in LINK_ROUND_TRIP_KEYS:
            lines.append(f"| {LINK_ROUND_TRIP_KEYS[key]} | "
                         + "".join(f"{fmt(None if v is None else v / rtt, 2)} | "
                                   for v in [d, o] + cells)
                         + "| | | |")
    return "\n".join(lines)


def render_link_ttfb_lines(res, rtt):
    """"reported" lines for the time to first byte at this round trip: ours (issue #16 asks
    for one round trip, the request riding with the channel's opening), then each peer beside
    ours."""
    metric = f"rtt{rtt:g}_ttfb"
    o, d = res.median(metric, "ours"), res.median(metric, "direct")

    def shown(v):
        return f"{fmt(v, 1)} ms = {fmt(v / rtt, 2)} round trips"
    out = []
    if o is not None:
        out.append(f"- reported: {rtt:g} ms round trip, time to first byte of a new connection, "
                   f"ours: {shown(o)} (issue #16: one round trip, early data"
                   + ("" if d is None else f"; direct through the same relay {shown(d)}") + ")")
    for p in link_ttfb_peers(res, rtt):
        v = res.median(metric, p)
        # Ours over wss against ours over ws: what TLS adds per connection; the others: ours
        # against them.
        against = "" if o is None else (f" (wss/ws: {fmt(ratio(v, o))}×)" if p == OURS_WSS
                                        else f" (ours/{LABEL[p]}: {fmt(ratio(o, v))}×)")
        out.append(f"- reported: {rtt:g} ms round trip, time to first byte of a new connection, "
                   f"{LABEL[p]}: {shown(v)}{against}")
    ws, wss = res.median(f"rtt{rtt:g}_session", "ours"), res.median(f"rtt{rtt:g}_session", OURS_WSS)
    if ws is not None and wss is not None:
        out.append(f"- reported: {rtt:g} ms round trip, session set-up, once per session: ours "
                   f"over wss {shown(wss)}, over ws {shown(ws)} (the TLS handshake: "
                   f"{fmt((wss - ws) / rtt, 2)} round trips more)")
    return out


def render_link_targets(res):
    """PASS/FAIL lines for the targets at LINK_TARGET_RTT_MS; the same ratios, reported, at the
    other round trips; the time to first byte of every path, reported at every round trip."""
    labels = {key: label for key, label, _d, _s in LINK_ROWS}
    out = []
    for rtt in link_rtts(res):
        for key, _label, _digits, scale in LINK_ROWS:
            o = res.median(f"rtt{rtt:g}_{key}", "ours")
            d = res.median(f"rtt{rtt:g}_{key}", "direct")
            if key == "ttfb":
                out += render_link_ttfb_lines(res, rtt)
            if key in LINK_ROUND_TRIP_KEYS:
                continue
            if o is None:
                continue
            tgt, verdict = link_verdict(res, rtt, key)
            if key.startswith("thr"):
                shown = (f"ours {fmt(o * scale, 0)}, direct "
                         f"{fmt(None if d is None else d * scale, 0)} ({fmt(ratio(o, d))}×)")
            elif verdict:
                shown = f"ours {fmt(o, 1)}"
            else:
                continue
            if verdict:
                out.append(f"- {verdict}: {rtt:g} ms round trip, {labels[key]}: {shown}, "
                           f"target {tgt}")
            else:
                out.append(f"- reported: {rtt:g} ms round trip, {labels[key]}: {shown} (the "
                           f"target, ≥ {LINK_THROUGHPUT_TARGET}× direct, is set at "
                           f"{LINK_TARGET_RTT_MS} ms)")
    return "\n".join(out)


def render_long_links(res, cfg):
    """The per-round-trip tables and target lines, "" without the delay group."""
    rtts = link_rtts(res)
    if not rtts:
        return ""
    parts = []
    for rtt in rtts:
        parts.append(f"**{rtt:g} ms round trip** ({rtt / 2:g} ms each way), link capped at "
                     f"{cfg.delay_rate_mbit:g} Mbit/s each way:\n\n{render_link_table(res, rtt)}")
    parts.append(render_link_targets(res))
    return "\n\n".join(parts)


RESUME_ROWS = [
    ("resume_cuts", "cuts of the WebSocket in the run (median per round)", 0),
    ("resume_logged", "client's 'session resumed' lines in that run", 0),
    ("resume_redial_ms", "cut → the client's new WebSocket at the relay, median over cuts (ms)",
     1),
    ("resume_recovery_ms", "cut → data flowing again (64 KiB to the client through the new "
                           "WebSocket), median over cuts (ms)", 1),
    ("resume_stall_ms", "longest stall the receiving application saw within 1 s of a cut, "
                        "median over cuts (ms)", 1),
    ("resume_stall_uncut_ms", "for comparison: longest stall in the whole uncut download (ms)", 1),
    ("resume_thr_base", "1-stream download without cuts (Gbit/s)", None),
    ("resume_thr_cut", "1-stream download with the cuts (Gbit/s)", None),
    ("resume_thr_ratio", "with cuts / without", 2),
]


def render_resume(res):
    """The resume group's table, "" when it did not run."""
    paths = [p for p in RESUME_PATHS if res.median("resume_thr_cut", p) is not None]
    if not paths:
        return ""
    lines = ["| metric | " + " | ".join(LABEL[p] for p in paths) + " |",
             "|---|" + "---:|" * len(paths)]
    for key, label, digits in RESUME_ROWS:
        lines.append(f"| {label} | "
                     + " | ".join(fmt(res.median(key, p), digits) for p in paths) + " |")
    return "\n".join(lines)


def long_links_section(res, cfg):
    """The doc's "Long links" section (ending in a newline), "" without the delay group."""
    body = render_long_links(res, cfg)
    if not body:
        return ""
    return f"""
## Long links

Each path over a link of a fixed round trip: `benchtool delay-relay` (bench/tools) hands
every byte on half the round trip later in each direction and caps each direction at
{cfg.delay_rate_mbit:g} Mbit/s (a token bucket shared by every connection through it, as a
link would be; a gigabit uplink, and well within what this machine carries on every path). It
buffers whatever is in flight, so it is never the bottleneck. "direct" is iperf3 → relay →
iperf3 server; "ours" puts the same relay between `wstunnel --headless` and
`wstunnel-remote` (the client dials the relay, which forwards to the remote). For the time
to first byte only, the same relay stands between the client and the server of three more
paths: ours over `wss://` (before the TLS remote), `ssh -L` (before the harness's sshd) and
node wstunnel 1.4.0 (before its server; its client opens one WebSocket through the relay per
tunnelled connection), in the group's first round only.

The relay ends TCP on both sides, so the kernels' TCP windows see a loopback round trip and
"direct" moves what the link carries: it is the link's capacity, not the speed of one real
TCP connection over such a path (which its receive buffer would limit: 6 MiB at most by
default, 1 Gbit/s up to about 50 ms). Only flow control that spans the relay end to end sees
the delay — the tunnel's per-channel window, which is what this measures. For the same
reason a new direct connection opens in no time and its first byte comes after one round trip
(a real one needs two: the TCP handshake first), and node wstunnel, which opens a new TCP
connection across the link for every tunnelled connection, would pay that round trip too on a
real link.

Time to first byte of a new connection, in round trips: ours, ours over wss and ssh -L carry
every connection over one session set up when they start (TCP, then the TLS handshake and the
WebSocket upgrade, or SSH's key exchange and login), so a new connection pays only its own
opening. Ours sends the request right behind the channel's `open` (early data,
docs/PROTOCOL.md): one round trip. Over wss the TLS handshake costs round trips (one for TLS
1.3, besides TCP's and the upgrade's) only when the session connects or reconnects, not per
connection, so its figure is ours over ws plus the encryption. That handshake shows in the
session set-up row, ours and ours over wss only: from the client's `connecting to` to its
`connected to` log line (millisecond timestamps), over ws the upgrade and the hello exchange,
two round trips, plus processing (a fresh remote's first upgrade also loads its crypto library,
some ms, which over wss happened at start-up). `ssh -L` sends its
channel-open and waits for the confirmation before the first data: two round trips. Node
wstunnel waits for its new WebSocket's upgrade answer before the first data: two round trips
here, three on a real link.

Figures: iperf3 as in the throughput group; peak RSS of our two processes over those four
iperf3 runs; time to first byte: a new connection to the echo server, 64 bytes out, the
first byte back (median of {cfg.ttfb_count} after one not counted, fewer past
{cfg.ttfb_seconds} s, over a session already up), each connection one round trip after the
previous one closed (ssh -L opening a channel right behind the previous one's close pays a
round trip more at 20 and 30 ms); at {DELAY_MEMORY_RTT_MS} ms also the
slow-reader figures ({cfg.link_slow_bytes // MIB} MiB each way, read at
{cfg.link_slow_chunk / MIB / (cfg.slow_tick_us / 1e6):.0f} MiB/s) and the idle-connection
figures ({cfg.link_idle_count} connections). Targets (issue #16), at {LINK_TARGET_RTT_MS} ms:
one channel and 8 together ≥ {LINK_THROUGHPUT_TARGET}× direct each way; peak RSS ≤ 64 MiB
per process with a slow reader and ≤ 64 KiB per idle connection.

{body}
"""


def resume_section(res, cfg):
    """The doc's "Resumed sessions" section (ending in a newline), "" without the group."""
    table = render_resume(res)
    if not table:
        return ""
    return f"""
## Resumed sessions

Ours with `benchtool delay-relay` (no delay, no cap) between the client and the remote (for
the hub path: between the desktop and the hub) and the client at its default
`--resume-timeout`: one download through the bulk server as fast as it goes, for
{cfg.resume_base_seconds:g} s uncut, then for {cfg.resume_seconds:g} s while the relay resets
the WebSocket (RST both sides) every {cfg.resume_cut_every:g} s. The download must survive
every cut. Per cut, from the relay's own log (CLOCK_MONOTONIC): how long until the client's
new WebSocket arrives, and until that WebSocket has carried 64 KiB toward the client ("data
flowing again": the handshake and the resume exchange are far smaller, so that is the
download's bytes, replayed or new). What the application noticed: `benchtool stream` times,
on the same clock, every stall of {cfg.resume_gap_ms:g} ms or more between two reads; the
longest within {RESUME_STALL_WINDOW_MS / 1000:g} s after a cut counts (0 when the bytes
already buffered on the client's side outlasted the outage). The client's own `session
resumed after X s` line rounds to 0.1 s; it is only counted here.

{table}
"""


def write_doc(cfg, res, info, table, started, elapsed):
    profile = existing_profile_section() or PROFILE_PLACEHOLDER
    others, capacity = cfg.other_load
    warning = busy_warning(others, capacity)
    errs = "\n".join(f"- {g} / {LABEL.get(p, p)}: {msg}" for g, p, msg in res.errors) or "- none"
    notes = "\n".join(f"- {n}" for n in res.notes)
    before_after = before_after_section(cfg, res, info)
    hub = hub_section(res)
    tls = tls_section(cfg, res)
    long_links = long_links_section(res, cfg) + resume_section(res, cfg)
    doc = f"""# Performance

Measured by the benchmark harness (`make bench`, i.e. `bash bench/run.sh`; see
`bench/README.md`). All paths run on loopback on one machine; every figure is
the median of the rounds run, rounds alternating across paths.
Regenerate with `make bench`; the section "Profile findings" is kept across runs.

- date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()} (run took {elapsed / 60:.1f} min)
- machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}, kernel {info['kernel']}
- Qt {info['qt']}, {info['compiler']}
- ours: `{info['ours_version']}` at commit {info['commit'] or 'n/a'}, Release build
- peers: node {info['node']} with npm `wstunnel@1.4.0`; {info['socat']} (`-b 262144`); {info['openssh']}; {info['iperf3']}
- rounds per path: {render_rounds(res)}; load average at start {cfg.load_start}, at end {info['loadavg']}; CPU used by other processes during the run: {others:.0f} s of {capacity:.0f} s
{warning}
## Results

{table}

Ratios are ours divided by the peer (for throughput and connection rate higher
is better, for latency, CPU and memory lower is better). "Client-side process"
is `wstunnel --headless` / the node client / the first socat relay;
"server-side process" is `wstunnel-remote` / the node server / the second relay.
socat forks one process per connection: its memory is summed over the process
tree (PSS, so shared pages count once) and its peak is the largest per-process
VmHWM seen.

## Targets

{render_targets(res)}
{hub}{tls}{long_links}{before_after}
## How it is measured

- **Throughput**: `iperf3 -t {cfg.iperf_seconds} -O {cfg.iperf_omit}` through each path, 1 and 8 (`-P 8`)
  streams, client→server and server→client (`-R`); receiver-side Gbit/s.
- **UDP**: `iperf3 -u -b 100M` and `-b 1G`, {UDP_LENGTH}-byte datagrams, client→server for
  {cfg.udp_seconds} s; the server's count of what arrived (Mbit/s) and of datagrams lost (%). Ours
  carries iperf3's control connection over a TCP mapping and its datagrams over a `/udp`
  mapping on the same port; node wstunnel 1.4.0 does not carry UDP, and a socat chain is not run.
- **CPU**: utime+stime (+ reaped children for socat, + the session processes for sshd) from
  `/proc/PID/stat` of each tunnel process over the two 1-stream iperf3 runs, divided by the
  bytes moved; "all tunnel processes together" is their sum.
- **Connection setup**: `benchtool connrate` — sequential connect → 64-byte echo →
  close against an echo server, for {cfg.conn_seconds} s (≤ {cfg.conn_count} connections).
- **Time to first byte**: `benchtool firstbyte` — sequential new connections, each timed
  from `connect()` until the first byte of its echoed 64-byte request arrives (so per-connection
  set-up such as a TLS handshake counts), {cfg.setup_seconds} s (≤ {cfg.setup_count} connections) after a
  5-connection warm-up; median and 95th percentile.
- **Latency**: `benchtool pingpong` — 500-byte write, wait for the 500-byte echo, on
  one connection with TCP_NODELAY, {cfg.ping_seconds} s (≤ {cfg.ping_count} round trips) after 200 warm-up
  round trips; "added" is the path's median minus direct's median.
- **Slow reader**: `benchtool bulk` — {cfg.slow_bytes // MIB} MiB pushed as fast as possible while
  the receiver reads at most {cfg.slow_chunk // MIB} MiB per {cfg.slow_tick_us // 1000} ms (about
  {cfg.slow_chunk / MIB / (cfg.slow_tick_us / 1e6):.0f} MiB/s); once with the slow reader at the target ("up"), once at the
  client ("down"); payload verified byte for byte. Peak RSS is VmHWM from
  `/proc/PID/status` (reset through `clear_refs` first, sampled every 20 ms).
- **Idle connections**: `benchtool idle` opens {cfg.idle_count} connections (each proven with a
  1-byte echo) and holds them; (memory with them open − memory before) / {cfg.idle_count}.
- **Desktop app**: `tst_responsiveness` (tests/gui, Release build, offscreen) shows the main
  window with live statistics, maps a port through the built-in remote ("This computer", the
  remote engine inside the app) and pushes 1 GiB through it as fast as it goes, while a 10 ms
  timer on the GUI thread records how late it fires. The engine runs on its own thread;
  the target is p99 < 50 ms.
- Fresh tunnel processes for each group of measurements and round.

## Per-round values

{render_per_round(res)}

## Errors and notes

{errs}
{notes}

## Profile findings

{profile}
"""
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(doc)


# --------------------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round, no docs")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--paths", default=",".join(PATHS + [HUB, SOCAT3] + TLS_PATHS),
                    help="comma list of " + ",".join(PATHS + [HUB, SOCAT3] + TLS_PATHS))
    ap.add_argument("--groups",
                    default="throughput,udp,echo,setup,slow,idle,gui,startup,delay,resume")
    ap.add_argument("--delay-rtts", default=",".join(str(r) for r in DELAY_RTTS_MS),
                    help="round trips (ms) of the delay group, comma list")
    ap.add_argument("--delay-rate-mbit", type=float, default=DELAY_RATE_MBIT,
                    help="the delay group's link rate cap per direction (Mbit/s, 0: none)")
    ap.add_argument("--resume-cut-every", type=float, default=2.0,
                    help="seconds between the resume group's cuts of the WebSocket")
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    ap.add_argument("--budget", type=float, default=900.0,
                    help="seconds for measurements; later rounds are skipped past it")
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build-release", "bin"))
    ap.add_argument("--benchtool",
                    default=os.path.join(ROOT, "build-release", "bench-tools", "benchtool"))
    ap.add_argument("--baseline-bin", metavar="DIR",
                    help=f"an older build's wstunnel, wstunnel-remote (and optionally "
                         f"tst_responsiveness): adds path {BASELINE}, run like ours wherever "
                         f"ours runs, and a before/after comparison")
    ap.add_argument("--baseline-label", help="how the report names the baseline "
                                             "(default: the --baseline-bin directory)")
    cfg = ap.parse_args()
    cfg.paths = [p for p in cfg.paths.split(",") if p]
    for p in cfg.paths:
        if p == BASELINE and not cfg.baseline_bin:
            ap.error(f"path {BASELINE} needs --baseline-bin")
        if p not in ALL_PATHS:
            ap.error(f"unknown path {p}")
    if cfg.baseline_bin and "ours" in cfg.paths and BASELINE not in cfg.paths:
        cfg.paths.insert(cfg.paths.index("ours") + 1, BASELINE)
    cfg.groups = [g for g in cfg.groups.split(",") if g]
    try:
        cfg.delay_rtts = [float(r) for r in cfg.delay_rtts.split(",") if r]
    except ValueError:
        ap.error("--delay-rtts takes round trips in ms, e.g. 20,50,100")
    if any(r <= 0 for r in cfg.delay_rtts):
        ap.error("--delay-rtts: every round trip must be above 0 ms")
    cfg.delay_rtts = [int(r) if r == int(r) else r for r in cfg.delay_rtts]

    def bins_in(directory):
        return {"remote": os.path.join(directory, "wstunnel-remote"),
                "client": os.path.join(directory, "wstunnel"),
                "gui": os.path.join(directory, "tst_responsiveness")}
    cfg.bins = {"ours": bins_in(cfg.bin_dir)}
    if cfg.baseline_bin:
        cfg.bins[BASELINE] = bins_in(cfg.baseline_bin)
        cfg.baseline_label = cfg.baseline_label or cfg.baseline_bin
    if cfg.smoke:
        cfg.rounds = cfg.rounds or 1
        cfg.iperf_bytes = 64 * MIB
        cfg.iperf_seconds, cfg.iperf_omit = 0, 0
        cfg.udp_seconds = 1
        cfg.conn_count, cfg.conn_seconds = 200, 1
        cfg.ping_count, cfg.ping_seconds = 500, 1
        cfg.setup_count, cfg.setup_seconds = 50, 2
        cfg.slow_bytes = 64 * MIB
        cfg.idle_count = 100
        cfg.delay_rtts = cfg.delay_rtts[:1]
        cfg.ttfb_count, cfg.ttfb_seconds = 3, 5
        cfg.resume_cut_every = 1.0
        cfg.resume_seconds, cfg.resume_base_seconds = 2.0, 1.0
        cfg.groups = [g for g in cfg.groups if g != "startup"]
        cfg.no_doc = True
    else:
        cfg.rounds = cfg.rounds or 3
        cfg.iperf_bytes = 0
        cfg.iperf_seconds, cfg.iperf_omit = 3, 1
        cfg.udp_seconds = 3
        cfg.conn_count, cfg.conn_seconds = 20000, 2
        cfg.ping_count, cfg.ping_seconds = 100000, 2
        cfg.setup_count, cfg.setup_seconds = 200, 5
        cfg.slow_bytes = GIB
        cfg.idle_count = 1000
        cfg.ttfb_count, cfg.ttfb_seconds = 7, 10
        cfg.resume_seconds = 5 * cfg.resume_cut_every
        cfg.resume_base_seconds = 4.0
    # Over the delay group's link: a reader at 50 MiB/s (under the 1000 Mbit/s link), and fewer
    # idle connections, since each takes a round trip to open.
    cfg.link_slow_bytes = 128 * MIB
    cfg.link_slow_chunk = MIB // 2
    cfg.link_idle_count = 100
    # Stalls shorter than this are the machine's, not a resume's.
    cfg.resume_gap_ms = 2.0
    cfg.slow_chunk = 4 * MIB
    cfg.slow_tick_us = 10000
    cfg.slow_timeout = 180
    return cfg


def check_prereqs(cfg):
    missing = []
    if not os.access(cfg.benchtool, os.X_OK):
        missing.append(cfg.benchtool)
    if any(p in cfg.paths for p in ("ours", HUB, OURS_WSS)):
        bins = cfg.bins["ours"]
        for b in (bins["remote"], bins["client"]) + ((bins["gui"],) if "gui" in cfg.groups else ()):
            if not os.access(b, os.X_OK):
                missing.append(b)
    if BASELINE in cfg.paths:
        # The baseline's desktop app test is optional: without it the gui group measures ours only.
        for b in (cfg.bins[BASELINE]["remote"], cfg.bins[BASELINE]["client"]):
            if not os.access(b, os.X_OK):
                missing.append(b)
    if "node" in cfg.paths and not os.path.exists(NODE_WSTT):
        missing.append(NODE_WSTT)
    if OURS_WSS in cfg.paths or SOCAT_TLS in cfg.paths:
        if not shutil.which("openssl"):
            missing.append("openssl")
    if SSH in cfg.paths:
        if not os.access(SSHD, os.X_OK):
            missing.append(SSHD)
        for tool in ("ssh", "ssh-keygen"):
            if not shutil.which(tool):
                missing.append(tool)
    for tool in ("iperf3", "socat", "node"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        raise BenchError("missing: " + ", ".join(missing) + " (run bench/run.sh, which installs "
                         "and builds them)")


def round_order(paths, rnd):
    """paths in the order a round runs them. Ours and ours-before swap places every other
    round, so neither always runs right after the other or after the same peer."""
    if "ours" not in paths or BASELINE not in paths or rnd % 2:
        return paths
    order = list(paths)
    i, j = order.index("ours"), order.index(BASELINE)
    order[i], order[j] = order[j], order[i]
    return order


def main():
    cfg = parse_args()
    os.makedirs(LOGDIR, exist_ok=True)
    for name in os.listdir(LOGDIR):
        try:
            os.unlink(os.path.join(LOGDIR, name))
        except OSError:
            pass

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = datetime.datetime.now().astimezone()
    try:
        with open("/proc/loadavg") as f:
            cfg.load_start = " ".join(f.read().split()[:3])
    except OSError:
        cfg.load_start = "?"
    cfg.busy_start = machine_busy_seconds()
    cfg.own_start = own_cpu_seconds()
    t0 = time.monotonic()
    res = Results()
    rc = 0
    target = None
    iperf = None
    try:
        check_prereqs(cfg)
        prepare_tls_material(cfg)
        target = Proc("benchtool-serve", [cfg.benchtool, "serve"])
        echo_port = int(target.wait_line(r"^echo (\d+)", 10).group(1))
        bulk_port = int(target.wait_line(r"^bulk (\d+)", 10).group(1))
        target.wait_line(r"^ready", 10)
        cfg.echo_port = echo_port
        log(f"mode {'smoke' if cfg.smoke else 'full'}: paths {', '.join(cfg.paths)}; "
            f"{cfg.rounds} round(s); logs in {os.path.relpath(LOGDIR, ROOT)}")

        groups = {
            "throughput": (cfg.paths, lambda r, p: group_throughput(cfg, res, r, p, iperf)),
            "udp": ([p for p in cfg.paths if p in UDP_STARTERS],
                    lambda r, p: group_udp(cfg, res, r, p, iperf)),
            "echo": (cfg.paths, lambda r, p: group_echo(cfg, res, r, p, echo_port)),
            "setup": (cfg.paths, lambda r, p: group_setup(cfg, res, r, p, echo_port)),
            "slow": ([p for p in cfg.paths if p in TUNNELS],
                     lambda r, p: group_slow_reader(cfg, res, r, p, bulk_port)),
            "idle": ([p for p in cfg.paths if p in TUNNELS and p != HUB],
                     lambda r, p: group_idle(cfg, res, r, p, echo_port)),
            "gui": ([p for p in cfg.paths if p == "ours" or (
                        p == BASELINE and os.access(cfg.bins[BASELINE]["gui"], os.X_OK))],
                    lambda r, p: group_gui(cfg, res, r, p)),
            "delay": ([p for p in cfg.paths if p in DELAY_PATHS + DELAY_TTFB_PATHS],
                      lambda r, p: group_delay(cfg, res, r, p, iperf, echo_port, bulk_port)),
            "resume": ([p for p in cfg.paths if p in RESUME_PATHS],
                       lambda r, p: group_resume(cfg, res, r, p, bulk_port)),
        }
        if BASELINE in cfg.paths:
            log(f"{BASELINE}: binaries of {cfg.baseline_label}")
            if "gui" in cfg.groups and BASELINE not in groups["gui"][0]:
                note = f"gui: {BASELINE} not measured (no tst_responsiveness in --baseline-bin)"
                res.notes.append(note)
                log(note)
        deadline = t0 + cfg.budget
        failed_start = set()
        if "udp" in cfg.groups and "node" in cfg.paths:
            note = "udp: node wstunnel 1.4.0 not measured: it does not carry UDP"
            res.notes.append(note)
            log(note)
        for gname in ("throughput", "udp", "echo", "setup", "slow", "idle", "gui", "delay",
                      "resume"):
            if gname not in cfg.groups:
                continue
            paths, fn = groups[gname]
            paths = [p for p in paths if (p not in TLS_PATHS or gname in TLS_GROUPS)
                     and (p != SOCAT3 or gname == "throughput")]
            if gname in IPERF_GROUPS:
                iperf = IperfServer()
            for rnd in range(1, cfg.rounds + 1):
                rstart = time.monotonic()
                log(f"{gname}: round {rnd}/{cfg.rounds}")
                for path in round_order(paths, rnd):
                    try:
                        fn(rnd, path)
                    except Exception as e:  # noqa: BLE001 - one path's failure ends no run
                        if not isinstance(e, BenchError):
                            e = f"{type(e).__name__}: {e}"
                        res.errors.append((gname, path, str(e)))
                        log(f"  {path}: FAILED: {e}")
                        if gname in IPERF_GROUPS:
                            iperf.restart()  # a failed test can leave it wedged
                    if cfg.smoke and res.errors:
                        raise BenchError("smoke run failed")
                took = time.monotonic() - rstart
                if rnd < cfg.rounds and time.monotonic() + took > deadline:
                    note = (f"{gname}: stopped after {rnd} of {cfg.rounds} rounds "
                            f"(time budget {cfg.budget:.0f} s)")
                    res.notes.append(note)
                    log(note)
                    break
            if gname in IPERF_GROUPS:
                iperf.stop()
        if "startup" in cfg.groups:
            log("start-up time (hyperfine)")
            measure_startup(cfg, res)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        rc = 130
    except BenchError as e:
        log(f"ERROR: {e}")
        if not res.errors:
            res.errors.append(("setup", "-", str(e)))
        rc = 1
    finally:
        Proc.stop_all()

    if rc == 130:
        return rc
    derive(res)
    elapsed = time.monotonic() - t0
    cfg.other_load = other_load(cfg, elapsed)
    log(f"CPU used by other processes during the run: {cfg.other_load[0]:.1f} s of "
        f"{cfg.other_load[1]:.1f} s available")
    table = render_table(res, cfg)
    if table.count("\n") > 1:  # rows beyond the header: a group of the main table ran
        print()
        print(table)
        print()
        print(render_targets(res))
    hub_table = render_hub(res)
    if hub_table:
        print(f"\nHub path ({LABEL[HUB]}: desktop -> hub -> agent, beside ours direct; "
              f"{LABEL[SOCAT3]} beside {LABEL['socat']}):\n")
        print(hub_table)
        print()
        print(render_hub_targets(res))
    tls_table = render_tls(res)
    if tls_table:
        print(f"\nOver TLS ({tls_ciphers(cfg) or 'ciphers not seen'}):\n")
        print(tls_table)
        print()
        print(render_tls_targets(res))
    long_links = render_long_links(res, cfg)
    if long_links:
        print("\nLong links (delay relay; ours/direct through the same relay):\n")
        print(long_links)
    resume = render_resume(res)
    if resume:
        print(f"\nResumed sessions (WebSocket cut every {cfg.resume_cut_every:g} s):\n")
        print(resume)
    before_after = compare_before_after(res)
    if before_after:
        print(f"\nBefore and after ({LABEL[BASELINE]}: {cfg.baseline_label}; noise: the larger "
              f"max − min across rounds of the two builds):\n")
        print(render_before_after(before_after))
        print()
        for line in summarize_before_after(before_after):
            print(f"- {line}")
    if res.errors:
        print("\nFailures:")
        for g, p, msg in res.errors:
            print(f"- {g} / {p}: {msg}")
        rc = 1
    for n in res.notes:
        print(f"note: {n}")
    summary = {"started": started.isoformat(), "smoke": cfg.smoke, "samples": res.samples,
               "errors": res.errors, "notes": res.notes}
    if cfg.baseline_bin:
        summary["baseline"] = cfg.baseline_label
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if not cfg.no_doc and not cfg.smoke:
        info = machine_info(cfg)
        write_doc(cfg, res, info, table, started, elapsed)
        log(f"wrote {os.path.relpath(DOC, ROOT)}")
    log(f"done in {elapsed:.0f} s, exit {rc}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
