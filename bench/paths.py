"""The group-chat paths measured on every target: XMPP -> IRC channel and IRC -> XMPP, with 1 and with n XMPP
users in the channel (gateway, biboumi), and the same room fan-out through the bare echo component (no IRC side).

Fan-out counted per message: XMPP -> IRC waits for the IRC observer and every XMPP member (the sender's
reflection, the others' copies from their own IRC connections); IRC -> XMPP waits for every XMPP member.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.irc_load import RawIrcLoad
from bench.measure import (
    MACHINE,
    Latency,
    Throughput,
    Tracker,
    cpu_seconds,
    latency,
    machine_busy_seconds,
    stream_counters,
    throughput,
)
from bench.xmpp_load import CLIENT_NS, RawXmppClient, body_of, message_xml

_tags = itertools.count()


@dataclass(frozen=True)
class Timing:
    throughput_seconds: float
    latency_seconds: float
    window: int = 100


@dataclass(frozen=True)
class PathResult:
    throughput: Throughput
    latency: Latency
    cpu: dict[str, float] = field(default_factory=dict)  # process -> share of one core during the throughput run
    server_io: dict[str, float] = field(default_factory=dict)  # the server's socket counters per message


Sample = tuple[float, dict[str, float], dict[str, int]]


class CpuProbe:
    """Shares of one core the named processes use over a stretch of time (is the server or the target saturated?),
    and the XMPP server's socket counters: what each target costs it per message."""

    def __init__(self, pids: dict[str, int | None], server_ports: tuple[int, int] | None = None) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}
        self.server_ports = server_ports  # its component port, its client port

    def sample(self) -> Sample:
        used = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        used[MACHINE] = machine_busy_seconds()
        return (time.perf_counter(), used,
                stream_counters(*self.server_ports) if self.server_ports is not None else {})

    @staticmethod
    def shares(before: Sample, after: Sample) -> dict[str, float]:
        elapsed = after[0] - before[0]
        return {name: (after[1][name] - used) / elapsed for name, used in before[1].items()} if elapsed > 0 else {}

    @staticmethod
    def per_message(before: Sample, after: Sample, messages: int) -> dict[str, float]:
        if messages <= 0:
            return {}
        return {name: (after[2][name] - count) / messages for name, count in before[2].items()}


class Route:
    """Where received bodies go: the tracker of the measurement under way."""

    def __init__(self) -> None:
        self.tracker: Tracker | None = None

    def new(self, fanout: int) -> Tracker:
        self.tracker = Tracker(f"m{next(_tags)}-", fanout)
        return self.tracker

    def xmpp(self, elem: ET.Element) -> None:
        if self.tracker is not None and elem.tag == CLIENT_NS + "message":
            self.tracker.got_text(body_of(elem))

    def irc(self, channel: str) -> Callable[[str, str, str], None]:
        def handler(_source: str, target: str, text: str) -> None:
            if self.tracker is not None and target.lower() == channel.lower():
                self.tracker.got_text(text)
        return handler


async def measure(route: Route, fanout: int, send: Callable[[Tracker, int], None], drain: Callable[[], object],
                  timing: Timing, probe: CpuProbe | None = None) -> PathResult:
    """Warm up, then sustained throughput (with the CPU it took), then latency at half that rate."""
    warm = route.new(fanout)
    await latency(warm, lambda seq: send(warm, seq), rate=100, seconds=0.3, drain=drain, settle=10)
    tracker = route.new(fanout)
    before = probe.sample() if probe is not None else None
    result = await throughput(tracker, lambda seq: send(tracker, seq), timing.throughput_seconds, timing.window,
                              drain=drain)
    after = probe.sample() if probe is not None else None
    cpu = CpuProbe.shares(before, after) if before is not None and after is not None else {}
    server_io = CpuProbe.per_message(before, after, result.done) if before is not None and after is not None else {}
    paced = route.new(fanout)
    rate = max(result.rate / 2, 1.0)
    lat = await latency(paced, lambda seq: send(paced, seq), rate, timing.latency_seconds, drain=drain)
    route.tracker = None
    return PathResult(result, lat, cpu, server_io)


async def join_room(members: list[RawXmppClient], room: str, observer: RawIrcLoad | None, channel: str | None,
                    parallel: int = 20) -> None:
    """Every member joins (nick = user name); with an observer, also wait until IRC sees each one JOIN."""
    gate = asyncio.Semaphore(parallel)

    async def one(client: RawXmppClient) -> None:
        async with gate:
            seen = observer.joined(channel, client.user) if observer is not None and channel else None
            await client.join_muc(room, client.user)
            if seen is not None:
                await asyncio.wait_for(seen, 30)

    await asyncio.gather(*(one(c) for c in members))


async def room_paths(members: list[RawXmppClient], room: str, observer: RawIrcLoad | None, channel: str | None,
                     timing: Timing, probe: CpuProbe | None = None) -> dict[str, PathResult]:
    """Both directions (or the echo fan-out without an observer) for the members already in the room."""
    route = Route()
    for client in members:
        client.on_stanza = route.xmpp
    sender = members[0]
    results: dict[str, PathResult] = {}

    def from_xmpp(tracker: Tracker, seq: int) -> None:
        sender.send(message_xml(room, tracker.body(seq), "groupchat"))

    if observer is None:
        results["echo"] = await measure(route, len(members), from_xmpp, sender.drain, timing, probe)
    else:
        assert channel is not None
        observer.on_privmsg = route.irc(channel)
        results["xmpp_irc"] = await measure(route, len(members) + 1, from_xmpp, sender.drain, timing, probe)

        def from_irc(tracker: Tracker, seq: int) -> None:
            observer.privmsg(channel, tracker.body(seq))

        results["irc_xmpp"] = await measure(route, len(members), from_irc, observer.drain, timing, probe)
        observer.on_privmsg = None
    for client in members:
        client.on_stanza = None
    return results


def leave_room(members: list[RawXmppClient], room: str) -> None:
    for client in members:
        client.leave_muc(room, client.user)
