#!/usr/bin/env python3
"""`make soak`: the real binaries on loopback under punishment for a while.

A remote and a headless client with a relay of this script between them, so that the WebSocket can
be cut; behind the client's forward an echo server. For SOAK_SECONDS it runs, all at once:
- random transfers of 100 KiB to 250 MiB, 20 at a time, each echoed back and checked by SHA-256;
- bursts of 2,000 connections opened at once, each echoing a line;
- cuts of the WebSocket (the relay drops every connection it carries);
- bad input at the remote's own port from other loopback addresses: random bytes, malformed
  frames after a valid upgrade, wrong tokens.
Then it prints what moved, what failed and the peak RSS of each process, and exits 1 on a failure.
Sessions resume after a cut, so a transfer or a burst connection that a cut ended is a failure like
any other; the report counts them apart as well.
"""

import argparse
import asyncio
import base64
import hashlib
import os
import random
import re
import resource
import signal
import socket
import sys
import tempfile
import time

MIN_TRANSFER = 100 * 1024
MAX_TRANSFER = 250 * 1024 * 1024
PARALLEL_TRANSFERS = 20
BURST_SIZE = 2000
CHUNK = 256 * 1024
TOKEN = "soak-" + base64.b32encode(os.urandom(10)).decode().lower()
# Bad input comes from addresses of its own, so that the remote's penalty for wrong tokens never
# touches the client on 127.0.0.1.
GARBAGE_SOURCE = "127.0.0.2"
WRONG_TOKEN_SOURCE = "127.0.0.3"
BAD_FRAME_SOURCE = "127.0.0.4"


class Stats:
    def __init__(self):
        self.transfers_ok = 0
        self.bytes_moved = 0
        self.transfers_cut = 0
        self.burst_connections_cut = 0
        self.failures = []
        self.bursts = 0
        self.burst_connections_ok = 0
        self.burst_connections_failed = 0
        self.cuts = 0
        self.garbage_sent = 0
        self.bad_frames_sent = 0
        self.wrong_tokens = {}

    def fail(self, what):
        self.failures.append(what)
        print(f"FAILURE: {what}", flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


async def wait_for_line(process, pattern, what, timeout=20):
    """Reads the process's stdout until a line matches; returns the match."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(process.stdout.readline(), deadline - time.monotonic())
        if not line:
            break
        match = re.search(pattern, line.decode(errors="replace"))
        if match:
            return match
    raise RuntimeError(f"{what} never printed /{pattern}/")


async def drain_output(stream, log):
    while line := await stream.readline():
        log.write(line)


class Relay:
    """A TCP relay between client and remote that can cut every connection it carries."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.connections = set()
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def accept(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.connections.add(pair)
        try:
            await asyncio.gather(self.pump(reader, up_writer), self.pump(up_reader, writer))
        finally:
            self.connections.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()

    @staticmethod
    async def pump(reader, writer):
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
            writer.write_eof()
        except (OSError, RuntimeError):
            writer.transport.abort()

    def cut(self):
        for down, up in list(self.connections):
            down.transport.abort()
            up.transport.abort()


async def echo(reader, writer):
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


class Soak:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.deadline = 0.0
        self.cut_times = []
        self.processes = {}
        self.peaks = {}

    def cut_during(self, start, end):
        return any(start <= t <= end + 1 for t in self.cut_times)

    async def start_process(self, name, arguments, ready_pattern):
        log = open(os.path.join(self.workdir, f"{name}.log"), "wb")
        process = await asyncio.create_subprocess_exec(
            *arguments, stdout=asyncio.subprocess.PIPE, stderr=log)
        self.processes[name] = process
        match = await wait_for_line(process, ready_pattern, name)
        asyncio.ensure_future(drain_output(process.stdout, log))
        return match

    async def transfer(self, number, rng):
        size = int(MIN_TRANSFER * (MAX_TRANSFER / MIN_TRANSFER) ** rng.random())
        seed = rng.getrandbits(64)
        started = time.monotonic()
        sent_digest = hashlib.sha256()
        received_digest = hashlib.sha256()
        received = 0
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.transfer_port)

            async def send():
                source = random.Random(seed)
                left = size
                while left > 0:
                    block = source.randbytes(min(CHUNK, left))
                    sent_digest.update(block)
                    writer.write(block)
                    await writer.drain()
                    left -= len(block)
                writer.write_eof()

            async def receive():
                nonlocal received
                while data := await reader.read(CHUNK):
                    received_digest.update(data)
                    received += len(data)

            await asyncio.wait_for(asyncio.gather(send(), receive()), timeout=600)
            writer.close()
        except (OSError, asyncio.TimeoutError) as error:
            self.stats.fail(f"transfer {number} of {size} bytes{self.across_cut(started)}: "
                            f"{error!r}")
            return
        if received == size and received_digest.digest() == sent_digest.digest():
            self.stats.transfers_ok += 1
            self.stats.bytes_moved += 2 * size
        else:
            self.stats.fail(f"transfer {number}{self.across_cut(started)}: sent {size} bytes, "
                            f"{received} came back"
                            f"{'' if received != size else ' with another SHA-256'}")

    def across_cut(self, started):
        """Counts a transfer that failed while the WebSocket was cut, and says so."""
        if not self.cut_during(started, time.monotonic()):
            return ""
        self.stats.transfers_cut += 1
        return " across a cut"

    async def transfers(self, lane):
        rng = random.Random(self.args.seed * 1000 + lane)
        number = 0
        while time.monotonic() < self.deadline:
            number += 1
            await self.transfer(f"{lane}.{number}", rng)

    async def burst(self):
        started = time.monotonic()

        async def one(index):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.burst_port)
                line = f"burst connection {index}\n".encode()
                writer.write(line)
                await writer.drain()
                answer = await asyncio.wait_for(reader.readexactly(len(line)), timeout=60)
                writer.close()
                return answer == line
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                return False

        results = await asyncio.gather(*(one(i) for i in range(BURST_SIZE)))
        ok = sum(results)
        self.stats.bursts += 1
        self.stats.burst_connections_ok += ok
        if ok < BURST_SIZE:
            self.stats.burst_connections_failed += BURST_SIZE - ok
            cut = self.cut_during(started, time.monotonic())
            if cut:
                self.stats.burst_connections_cut += BURST_SIZE - ok
            self.stats.fail(f"burst: {BURST_SIZE - ok} of {BURST_SIZE} connections failed"
                            f"{' across a cut' if cut else ''}")

    async def bursts(self):
        while time.monotonic() < self.deadline:
            await self.burst()
            await self.pause(self.args.burst_interval)

    async def cuts(self, relay):
        await self.pause(self.args.cut_interval)
        while time.monotonic() < self.deadline:
            self.cut_times.append(time.monotonic())
            relay.cut()
            self.stats.cuts += 1
            await self.pause(self.args.cut_interval)

    async def upgrade(self, source, token):
        """An upgrade request to the remote itself; returns the status and the stream."""
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.remote_port, local_addr=(source, 0))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.remote_port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=20)
        return int(head.split(b" ", 2)[1]), reader, writer

    async def garbage(self, rng):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.remote_port, local_addr=(GARBAGE_SOURCE, 0))
        writer.write(rng.randbytes(rng.randint(1, 64 * 1024)))
        await writer.drain()
        # The remote answers with an error or closes; either way it must not keep the connection.
        await asyncio.wait_for(reader.read(), timeout=20)
        writer.close()
        self.stats.garbage_sent += 1

    async def wrong_token(self):
        status, _, writer = await self.upgrade(WRONG_TOKEN_SOURCE, "not-" + TOKEN)
        writer.close()
        self.stats.wrong_tokens[status] = self.stats.wrong_tokens.get(status, 0) + 1
        if status not in (401, 429):
            self.stats.fail(f"a wrong token was answered with HTTP {status}")

    async def bad_frames(self, rng):
        status, reader, writer = await self.upgrade(BAD_FRAME_SOURCE, TOKEN)
        if status != 101:
            writer.close()
            self.stats.fail(f"a valid upgrade for bad frames got HTTP {status}")
            return
        frames = [
            b"\x82\x05hello",                         # unmasked, from a client
            b"\x83\x80" + os.urandom(4),              # reserved opcode
            b"\xc2\x80" + os.urandom(4),              # RSV1 without an extension
            b"\x82\xff" + b"\x7f" + os.urandom(7) + os.urandom(4),  # 64-bit length with the MSB
            b"\x09\x80" + os.urandom(4),              # fragmented ping
            b"\x80\x80" + os.urandom(4),              # continuation outside a message
            b"\x82\x81" + os.urandom(4) + b"\xff",    # a message that does not decode
            rng.randbytes(rng.randint(1, 4096)),
        ]
        writer.write(rng.choice(frames))
        await writer.drain()
        await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        self.stats.bad_frames_sent += 1

    async def bad_input(self):
        rng = random.Random(self.args.seed)
        while time.monotonic() < self.deadline:
            attack = rng.choice((self.garbage, self.wrong_token, self.bad_frames))
            try:
                if attack == self.wrong_token:
                    await attack()
                else:
                    await attack(rng)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError) as error:
                self.stats.fail(f"bad input ({attack.__name__}): {error!r}")
            await self.pause(self.args.bad_input_interval)

    async def watch(self):
        while time.monotonic() < self.deadline + self.args.grace:
            for name, process in self.processes.items():
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
                peak = peak_rss_kib(process.pid)
                if peak:
                    self.peaks[name] = max(self.peaks.get(name, 0), peak)
            await asyncio.sleep(1)

    async def pause(self, seconds):
        await asyncio.sleep(max(0.0, min(seconds, self.deadline - time.monotonic())))

    async def run(self):
        bin_dir = self.args.bin_dir
        token_file = os.path.join(self.workdir, "tokens")
        with open(token_file, "w") as file:
            file.write(TOKEN + "\n")
        echo_server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=4096)
        echo_port = echo_server.sockets[0].getsockname()[1]
        match = await self.start_process(
            "wstunnel-remote",
            [os.path.join(bin_dir, "wstunnel-remote"), "--listen", "127.0.0.1:0",
             "--token-file", token_file, "--allow", "127.0.0.1:*"],
            r"listening on ws://127\.0\.0\.1:(\d+)/")
        self.remote_port = int(match.group(1))
        relay = Relay(self.remote_port)
        relay_port = await relay.start()
        self.transfer_port = free_port()
        self.burst_port = free_port()
        await self.start_process(
            "wstunnel",
            [os.path.join(bin_dir, "wstunnel"), "--headless",
             "--remote", f"ws://127.0.0.1:{relay_port}/", "--token-file", token_file,
             "-L", f"127.0.0.1:{self.transfer_port}:127.0.0.1:{echo_port}",
             "-L", f"127.0.0.1:{self.burst_port}:127.0.0.1:{echo_port}"],
            rf"forwarding 127\.0\.0\.1:{self.burst_port} ")
        # The load starts once the session is up: one line echoed through the tunnel.
        reader, writer = await asyncio.open_connection("127.0.0.1", self.burst_port)
        writer.write(b"ready?\n")
        await asyncio.wait_for(reader.readexactly(7), timeout=30)
        writer.close()

        started = time.monotonic()
        self.deadline = started + self.args.seconds
        print(f"soak: {self.args.seconds} s, seed {self.args.seed}, logs in {self.workdir}",
              flush=True)
        watcher = asyncio.ensure_future(self.watch())
        work = asyncio.gather(
            *(self.transfers(lane) for lane in range(PARALLEL_TRANSFERS)),
            self.bursts(), self.cuts(relay), self.bad_input())
        done, _ = await asyncio.wait({watcher, work}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            watcher.result()
            self.stats.fail(f"transfers still running {self.args.grace:.0f} s after the end")
        watcher.cancel()
        elapsed = time.monotonic() - started
        for name, process in self.processes.items():
            peak = peak_rss_kib(process.pid)
            if peak:
                self.peaks[name] = max(self.peaks.get(name, 0), peak)
        self.peaks["soak.py (echo, relay, load)"] = resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss
        # Both must still stop cleanly.
        for name, process in self.processes.items():
            process.terminate()
            code = await asyncio.wait_for(process.wait(), timeout=30)
            if code != 0:
                self.stats.fail(f"{name} exited with {code} on SIGTERM")
        return elapsed

    def report(self, elapsed):
        s = self.stats
        mib = s.bytes_moved / (1024 * 1024)
        print(f"ran {elapsed:.0f} s")
        print(f"transfers intact: {s.transfers_ok}, {mib:.0f} MiB through the tunnel "
              f"({mib / max(elapsed, 1):.0f} MiB/s, both ways)")
        print(f"cuts: {s.cuts}; failed across a cut (sessions resume, so these are failures "
              f"too): {s.transfers_cut} transfers, {s.burst_connections_cut} burst connections")
        print(f"bursts: {s.bursts} of {BURST_SIZE}, connections served {s.burst_connections_ok}, "
              f"failed {s.burst_connections_failed}")
        tokens = ", ".join(f"HTTP {k}: {v}" for k, v in sorted(s.wrong_tokens.items())) or "none"
        print(f"bad input: {s.garbage_sent} random, {s.bad_frames_sent} malformed frames, "
              f"wrong tokens {tokens}")
        for name, peak in self.peaks.items():
            print(f"peak RSS {name}: {peak / 1024:.0f} MiB")
        print(f"failures: {len(s.failures)}")
        for failure in s.failures:
            print(f"  {failure}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default="build/bin")
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--cut-interval", type=float, default=20)
    parser.add_argument("--burst-interval", type=float, default=15)
    parser.add_argument("--bad-input-interval", type=float, default=0.2)
    parser.add_argument("--grace", type=float, default=600,
                        help="time the last transfers get after SOAK_SECONDS")
    args = parser.parse_args()
    # Bursts hold 2,000 sockets on each side of the echo server here.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 3 * BURST_SIZE:
        sys.exit(f"the open-file limit {hard} is below {3 * BURST_SIZE}")
    soak = Soak(args)
    with tempfile.TemporaryDirectory(prefix="wstunnel-soak-") as workdir:
        soak.workdir = workdir
        try:
            elapsed = asyncio.run(soak.run())
        finally:
            for process in soak.processes.values():
                if process.returncode is None:
                    os.kill(process.pid, signal.SIGTERM)
        soak.report(elapsed)
        if soak.stats.failures:
            keep = tempfile.mkdtemp(prefix="wstunnel-soak-logs-")
            for name in os.listdir(workdir):
                if name.endswith(".log"):
                    os.replace(os.path.join(workdir, name), os.path.join(keep, name))
            print(f"logs kept in {keep}")
            sys.exit(1)


if __name__ == "__main__":
    main()
