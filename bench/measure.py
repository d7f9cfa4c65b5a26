"""Throughput (closed loop, a bounded window in flight) and latency (open loop at a fixed rate) over any path.

A path is a `send(seq)` function plus receivers that call `Tracker.got(seq)`; a message counts as done when every
one of its `fanout` deliveries arrived. Bodies carry `<tag><seq>` so a receiver can find the sequence number.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

Sender = Callable[[int], None]


@dataclass(frozen=True)
class Throughput:
    sent: int
    done: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Latency:
    rate: float  # offered messages/s
    sent: int
    deliveries: int
    lost: int
    p50_ms: float
    p99_ms: float


class Tracker:
    def __init__(self, tag: str, fanout: int) -> None:
        self.tag = tag
        self.fanout = fanout
        self.sent_at: list[float] = []
        self.remaining: list[int] = []
        self.latencies: list[float] = []
        self.done = 0
        self.last_done = 0.0
        self.changed = asyncio.Event()

    def body(self, seq: int) -> str:
        return f"{self.tag}{seq}"

    def mark_sent(self, seq: int) -> None:
        assert seq == len(self.sent_at)
        self.sent_at.append(time.perf_counter())
        self.remaining.append(self.fanout)

    def got_text(self, text: str | None) -> None:
        """A delivery: `text` is the body as received (others' traffic is ignored)."""
        if text is None or not text.startswith(self.tag):
            return
        try:
            seq = int(text[len(self.tag):])
        except ValueError:
            return
        if seq >= len(self.remaining) or self.remaining[seq] <= 0:
            return  # a duplicate: not counted twice
        now = time.perf_counter()
        self.latencies.append(now - self.sent_at[seq])
        self.remaining[seq] -= 1
        if self.remaining[seq] == 0:
            self.done += 1
            self.last_done = now
            self.changed.set()


async def _wait_done(tracker: Tracker, count: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while tracker.done < count and time.perf_counter() < deadline:
        tracker.changed.clear()
        try:
            await asyncio.wait_for(tracker.changed.wait(), max(0.01, deadline - time.perf_counter()))
        except TimeoutError:
            break


async def throughput(tracker: Tracker, send: Sender, seconds: float, window: int,
                     drain: Callable[[], object] | None = None, settle: float = 30.0) -> Throughput:
    """Send as fast as completions allow (at most `window` messages in flight) for `seconds`, then wait for the rest."""
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < seconds:
        while seq - tracker.done < window:
            tracker.mark_sent(seq)
            send(seq)
            seq += 1
        await _drain(drain)
        tracker.changed.clear()
        if seq - tracker.done >= window:
            try:
                await asyncio.wait_for(tracker.changed.wait(), 1.0)
            except TimeoutError:
                continue
    await _wait_done(tracker, seq, settle)
    end = tracker.last_done if tracker.done else time.perf_counter()
    return Throughput(sent=seq, done=tracker.done, seconds=end - start)


async def _drain(drain: Callable[[], object] | None) -> None:
    """Let the sender's buffered writes out (a drain() that may or may not be a coroutine)."""
    if drain is not None:
        result = drain()
        if asyncio.iscoroutine(result):
            await result


async def latency(tracker: Tracker, send: Sender, rate: float, seconds: float,
                  drain: Callable[[], object] | None = None, settle: float = 30.0) -> Latency:
    """Offer `rate` messages/s evenly for `seconds`; per-delivery latency percentiles."""
    fanout = tracker.fanout
    total = max(int(rate * seconds), 1)
    start = time.perf_counter()
    seq = 0
    while seq < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while seq < due:
            tracker.mark_sent(seq)
            send(seq)
            seq += 1
        await _drain(drain)
        await asyncio.sleep(min(0.002, 1 / rate))
    await _wait_done(tracker, total, settle)
    ordered = sorted(tracker.latencies)
    return Latency(rate=rate, sent=total, deliveries=len(ordered), lost=total * fanout - len(ordered),
                   p50_ms=percentile(ordered, 50) * 1000, p99_ms=percentile(ordered, 99) * 1000)


MACHINE = "machine"  # every CPU's busy time, the kernel's included (loopback networking runs in it)


def machine_busy_seconds() -> float:
    """CPU time all CPUs have spent busy so far (everything but idle and I/O wait), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time a process (all its threads) has used so far: user plus system, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The server's socket counters kept, by the name the report gives them: on its component port, what the target
# wrote to it (segments: with Nagle off, about one per write) and read from it; on its client port, what it wrote.
STREAM_COUNTERS = ("target writes", "target bytes", "server writes to target", "server writes to clients",
                   "server bytes to clients")
_SS_FIELD = re.compile(r"\b(bytes_received|bytes_sent|data_segs_in|data_segs_out):(\d+)")


def stream_counters(component_port: int, client_port: int) -> dict[str, int]:
    """TCP counters of the server's established sockets on both ports, summed per port (`ss -ti`, from the kernel:
    a read of /proc/<pid>/io misses sockets written with send and read with recv)."""
    def summed(port: int) -> dict[str, int]:
        out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, check=True, timeout=10).stdout
        totals: dict[str, int] = {}
        for name, value in _SS_FIELD.findall(out):
            totals[name] = totals.get(name, 0) + int(value)
        return totals
    target, clients = summed(component_port), summed(client_port)
    return dict(zip(STREAM_COUNTERS, (target.get("data_segs_in", 0), target.get("bytes_received", 0),
                                      target.get("data_segs_out", 0), clients.get("data_segs_out", 0),
                                      clients.get("bytes_sent", 0)), strict=True))


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def bucket_bounds(before: dict[float, float], after: dict[float, float], share: float) -> tuple[float, float]:
    """From a histogram's cumulative buckets sampled twice: the bounds under which `share` of the observations
    between the two samples fell, and all of them (a histogram keeps no exact quantile or maximum)."""
    counts = sorted((bound, after[bound] - before.get(bound, 0.0)) for bound in after)
    total = counts[-1][1] if counts else 0.0
    if not total:
        return math.nan, math.nan
    return (next(bound for bound, count in counts if count >= share * total),
            next(bound for bound, count in counts if count >= total))
