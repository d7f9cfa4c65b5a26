"""`python -m bench.run [--full] [--database URL] [--write BENCHMARKS.md]`: the whole benchmark, one table.

Order: servers up and users registered; the raw bridge and the echo component; the gateway (IRC paths, SMS
paths, profiles); kill -9 in the middle of floods (bench/crash.py); biboumi with history on, then off; memory on
fresh processes of the gateway and biboumi. Every process the run starts is stopped by PID at the end, also after
an error or Ctrl-C. `--baseline REF` runs the gateway of another commit beside this one (IRC and SMS paths, crash
runs), each figure in its own column, so that a change is measured against its baseline in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import archive as room_archive
from bench import biboumi, crash, flood_memory, report, webhook_ceiling
from bench.irc_load import RawIrcLoad
from bench.measure import bucket_bounds
from bench.memory import Plan, group_rooms, per_user_kib, probe_report, settled_rss, shared_rooms
from bench.paths import CpuProbe, PathResult, Route, Timing, join_room, leave_room, measure, room_paths
from bench.profile import ProfileSummary, record, summarize
from bench.sms_load import SENDERS, WebhookPoster, sms_paths
from bench.stack import (
    DOMAIN,
    ECHO_DOMAIN,
    IRC_DOMAIN,
    NETWORK,
    PASSWORD,
    ROOT,
    SMS_DOMAIN,
    GatewaySettings,
    Process,
    Stack,
    histogram_buckets,
)
from bench.xmpp_load import RawXmppClient, login_all, message_xml
from gateway.admin.users import AdminError
from gateway.config import normalize_database_url
from gateway.store.store import Store
from gateway.transports.sms import admin as sms_admin
from gateway.web.metrics import LOOP_LAG

BIG_ROOM = 20
STARTUP_ROUNDS = 5
ARCHIVE_QUERIES = 1000  # MAM pages asked, in turns of six kinds (bench/archive.py)
FLOOD_LINES, FLOODS = 20000, 2  # bench.flood_memory: IRC floods to a client that does not read
# What one run measures; `--only` picks some of them (to look at one figure while working on it).
PARTS = frozenset({"ceilings", "gateway", "sms", "profile", "crash", "flood", "biboumi", "memory", "archive"})


@dataclass(frozen=True)
class Sizes:
    throughput_seconds: float
    latency_seconds: float
    group_users: int
    shared_users: int
    sms_idle_users: int
    profile_seconds: float
    archive_rows: int  # journal rows under the room-archive queries (bench/archive.py)


QUICK = Sizes(3, 3, group_users=100, shared_users=50, sms_idle_users=50, profile_seconds=5, archive_rows=100_000)
FULL = Sizes(10, 10, group_users=500, shared_users=200, sms_idle_users=200, profile_seconds=15,
             archive_rows=1_000_000)

Figures = dict[str, dict[str, float]]  # row -> column -> value


def gateway_room(channel: str) -> str:
    return f"{channel}%{NETWORK}@{IRC_DOMAIN}"


def echo_room(channel: str) -> str:
    return f"{channel.lstrip('#')}@{ECHO_DOMAIN}"


def bridge_room(channel: str) -> str:
    return f"{channel}%{NETWORK}@{ECHO_DOMAIN}"


def user_number(index: int) -> str:
    return f"+1202555{index:04d}"


def contact_number(index: int) -> str:
    return f"+1303555{index:04d}"


def put(figures: Figures, column: str, prefix: str, result: PathResult) -> None:
    figures.setdefault(f"{prefix}.rate", {})[column] = result.throughput.rate
    figures.setdefault(f"{prefix}.p50", {})[column] = result.latency.p50_ms
    figures.setdefault(f"{prefix}.p99", {})[column] = result.latency.p99_ms
    for name, share in result.cpu.items():
        figures.setdefault(f"{prefix}.cpu.{name}", {})[column] = share * 100
    for name, count in result.server_io.items():
        figures.setdefault(f"{prefix}.io.{name}", {})[column] = count
    if result.throughput.done < result.throughput.sent or result.latency.lost:
        figures.setdefault(f"{prefix}.lost", {})[column] = float(
            result.throughput.sent - result.throughput.done + result.latency.lost)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, sizes: Sizes, database_url: str, workdir: Path, parts: frozenset[str] = PARTS,
                 baseline: Path | None = None, repeat: int = 1) -> None:
        self.sizes = sizes
        self.repeat = repeat
        self.samples: dict[str, dict[str, list[float]]] = {}  # each round's figures (see gateway)
        self.baseline = baseline  # another checkout of the gateway, measured in a column of its own
        self.parts = parts
        self.timing = Timing(sizes.throughput_seconds, sizes.latency_seconds)
        self.database_url = database_url
        self.stack = Stack(workdir)
        self.figures: Figures = {}
        self.profiles: dict[str, ProfileSummary] = {}
        self.notes: list[str] = []
        self.clients: list[RawXmppClient] = []
        self.observer: RawIrcLoad | None = None

    # -- set-up -----------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        await self.stack.start_servers()
        count = max(BIG_ROOM, self.sizes.group_users, self.sizes.shared_users, self.sms_users)
        say(f"registering {count} users with prosodyctl")
        await self.stack.register([f"u{i}" for i in range(count)])
        self.clients = [RawXmppClient(f"u{i}", DOMAIN, PASSWORD) for i in range(count)]
        assert self.stack.prosody is not None and self.stack.ngircd is not None
        await login_all(self.clients, self.stack.prosody.c2s_port)
        self.observer = RawIrcLoad("observer")
        await self.observer.connect(self.stack.ngircd.port)
        await self.bind_numbers()

    @property
    def sms_users(self) -> int:
        """Users with a number bound: u0, and two waves of idle SMS users (see sms_memory)."""
        return 2 * self.sizes.sms_idle_users + 1

    async def bind_numbers(self, url: str = "", count: int | None = None, migrate: bool = True) -> None:
        """u0 sends and receives the SMS load; u1.. are the idle SMS users. Bound before the gateway starts."""
        store = await Store.open(normalize_database_url(url or self.database_url or self.stack.sqlite_url),
                                 migrate=migrate)
        try:
            for index in range(self.sms_users if count is None else count):
                with contextlib.suppress(AdminError):  # bound by an earlier run on the same database
                    await sms_admin.bind(store, "sms", self.clients[index].bare, user_number(index), None)
        finally:
            await store.close()

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        if self.observer is not None:
            await self.observer.close()
        await self.stack.close()

    # -- group chats ------------------------------------------------------------------------------------------

    def probe(self, target: Process) -> CpuProbe:
        prosody, ngircd = self.stack.prosody, self.stack.ngircd
        assert prosody is not None and ngircd is not None
        pids = (prosody.pid, target.pid, ngircd.pid, os.getpid())
        return CpuProbe(dict(zip(report.PROCESS_NAMES, pids, strict=True)),
                        server_ports=(prosody.component_port, prosody.c2s_port))

    async def rooms(self, column: str, room: str | None, irc: bool, target: Process, label: str = "") -> None:
        """The 1-user and the 20-user room on one target."""
        probe = self.probe(target)
        for size in (1, BIG_ROOM):
            members = self.clients[:size]
            channel = f"#{column.replace('_', '')}{size}"
            jid = echo_room(channel) if room is None else room.format(channel=channel)
            observer = self.observer if irc else None
            if observer is not None:
                await observer.join(channel)
            await join_room(members, jid, observer, channel if irc else None)
            say(f"{label or column}: {size} user(s) in {jid}")
            results = await room_paths(members, jid, observer, channel if irc else None, self.timing, probe)
            for path, result in results.items():
                put(self.figures, column, f"{path}.{size}" if path != "echo" else f"echo.{size}", result)
                if path == "echo":  # the ceiling of both directions
                    put(self.figures, column, f"xmpp_irc.{size}", result)
                    put(self.figures, column, f"irc_xmpp.{size}", result)
                cpu = ", ".join(f"{name} {share:.0%}" for name, share in result.cpu.items())
                io = ", ".join(f"{name} {count:,.1f}" for name, count in result.server_io.items())
                say(f"  {path}: {result.throughput.rate:,.0f} msgs/s (CPU of one core: {cpu}; Prosody per message: "
                    f"{io}); at "
                    f"{result.latency.rate:,.0f}/s p50 {result.latency.p50_ms:.1f} ms "
                    f"p99 {result.latency.p99_ms:.1f} ms")
            leave_room(members, jid)
            if observer is not None:
                observer.part(channel)
            await asyncio.sleep(0.5)

    async def ceilings(self) -> None:
        """The raw bridge (what the servers route), the same with the stanza ids the gateway must send, then the
        slixmpp echo (a Python component's own ceiling)."""
        for column, start, room, irc in (
                ("raw_bridge", self.stack.start_raw_bridge, bridge_room("{channel}"), True),
                ("raw_bridge_ids", lambda: self.stack.start_raw_bridge(stanza_ids=True), bridge_room("{channel}"),
                 True),
                ("echo", self.stack.start_echo, None, False)):
            process, startup = await start()
            self.figures.setdefault("startup", {})[column] = startup
            try:
                await self.rooms(column, room, irc=irc, target=process)
            finally:
                self.stack.stop(process)

    # -- the gateway ------------------------------------------------------------------------------------------

    def gateway_settings(self, column: str = "gateway", database_url: str | None = None) -> GatewaySettings:
        if database_url is None:
            database_url = self.baseline_database if column == "baseline" else self.database_url
        return GatewaySettings(database_url=database_url, source=self.baseline if column == "baseline" else None)

    @property
    def baseline_database(self) -> str:
        """The baseline's own database: its schema revisions are another version's."""
        return f"sqlite:///{self.stack.workdir}/baseline.db"

    async def prepare_database(self, column: str, url: str, count: int | None = None) -> None:
        """A column's database with its numbers bound; the baseline's migrated by the baseline's code first (the
        tables bound into are the same in both versions)."""
        if column != "baseline":
            await self.bind_numbers(url, count)
            return
        assert self.baseline is not None
        if self.database_url:
            raise SystemExit("--baseline runs on SQLite only: the two versions' schema revisions differ")
        migrate = ("import asyncio; from gateway.store import database as d; "
                   f"asyncio.run(d.upgrade(d.create_engine({normalize_database_url(url)!r})))")
        subprocess.run([sys.executable, "-c", migrate], cwd=self.baseline, check=True)
        await self.bind_numbers(url, count, migrate=False)

    def gateway_columns(self) -> list[str]:
        return ["gateway", "baseline"] if self.baseline is not None else ["gateway"]

    async def gateway(self) -> None:
        """Each column's IRC and SMS paths; with `repeat`, several rounds that alternate which column goes first,
        each figure the median of its rounds (on a shared machine, load drifts between two runs)."""
        columns = self.gateway_columns()
        if self.baseline is not None:
            await self.prepare_database("baseline", self.baseline_database)
        for column in columns:
            await self.startups(column)
        rounds: list[Figures] = []
        for round_ in range(self.repeat):
            for column in columns if round_ % 2 == 0 else columns[::-1]:
                kept, self.figures = self.figures, {}
                try:
                    await self.gateway_column(column, profile=round_ == 0)
                finally:
                    rounds.append(self.figures)
                    self.figures = kept
        for figures in rounds:  # one round per column each time: gather them, then the median of each
            for key, values in figures.items():
                for column, value in values.items():
                    self.samples.setdefault(key, {}).setdefault(column, []).append(value)
        for key, found in self.samples.items():
            # Beside the other columns' figures of the same row (the ceilings'), not instead of them.
            self.figures.setdefault(key, {}).update(
                {column: statistics.median(seen) for column, seen in found.items()})
            if self.repeat > 1 and key.endswith(".rate"):
                self.notes.append(f"{key}: " + "; ".join(
                    f"{column} " + ", ".join(f"{v:,.0f}" for v in seen) for column, seen in found.items()))

    async def startups(self, column: str) -> None:
        """The column's start-up: the median of STARTUP_ROUNDS starts one after another (one start on this
        machine has measured anything from 0.8 to 1.4 s)."""
        seen: list[float] = []
        for _ in range(STARTUP_ROUNDS):
            process, startup = await self.stack.start_gateway(self.gateway_settings(column), name=f"{column}-start")
            self.stack.stop(process)
            seen.append(startup)
        self.figures.setdefault("startup", {})[column] = statistics.median(seen)
        self.notes.append(f"{column}: start-up of {STARTUP_ROUNDS} starts " + ", ".join(f"{s:.2f}" for s in seen)
                          + " s; the table has their median")
        say(f"{column} start-up, median of {STARTUP_ROUNDS}: {statistics.median(seen):.2f} s")

    async def gateway_column(self, column: str, profile: bool = True) -> None:
        process, startup = await self.stack.start_gateway(self.gateway_settings(column), name=column)
        say(f"{column} connected in {startup:.2f} s")
        try:
            lag_before = await self.loop_lag()
            if "gateway" in self.parts:
                await self.rooms(column, gateway_room("{channel}"), irc=True, target=process)
            if "sms" in self.parts:
                await self.sms(column, process)
            p99, longest = bucket_bounds(lag_before, await self.loop_lag(), 0.99)
            self.figures.setdefault("loop_lag.p99", {})[column] = p99 * 1000
            self.figures.setdefault("loop_lag.max", {})[column] = longest * 1000
            say(f"  event-loop lag during the runs: p99 at most {p99 * 1000:g} ms, longest at most "
                f"{longest * 1000:g} ms")
            if "profile" in self.parts and column == "gateway" and profile:
                await self.profile(process)
        finally:
            self.stack.stop(process)

    async def loop_lag(self) -> dict[float, float]:
        """The gateway's event-loop lag histogram (its own probe, every 100 ms)."""
        return await asyncio.to_thread(histogram_buckets, self.stack.metrics_url, LOOP_LAG)

    async def sms(self, column: str, target: Process) -> None:
        assert self.stack.sandbox is not None
        poster = WebhookPoster(self.stack.sandbox, self.stack.webhook_url)
        try:
            pairs = min(SENDERS, self.sizes.sms_idle_users + 1)  # users with a number bound (bind_numbers)
            results = await sms_paths(self.clients[:pairs], self.stack.sandbox, poster, SMS_DOMAIN,
                                      [user_number(i) for i in range(pairs)], [contact_number(i) for i in range(pairs)],
                                      self.timing, self.probe(target))
        finally:
            await poster.close()
        self.notes.append(f"{column}: SMS paths spread over {pairs} users and numbers; status callbacks for "
                          f"{self.stack.sandbox.last_held:,} messages ({2 * self.stack.sandbox.last_held:,} distinct)")
        for path, result in results.items():
            put(self.figures, column, path, result)
            cpu = ", ".join(f"{name} {share:.0%}" for name, share in result.cpu.items())
            say(f"  {path}: {result.throughput.rate:,.0f} msgs/s (CPU of one core: {cpu}); p50 "
                f"{result.latency.p50_ms:.1f} ms p99 {result.latency.p99_ms:.1f} ms")
        if poster.failures:
            self.notes.append(f"{poster.failures} webhook POST(s) were not answered 200")

    async def profile(self, process: Process) -> None:
        """py-spy on the gateway while each IRC path runs with 1 and 20 users (not during the measured runs)."""
        assert self.observer is not None
        seconds = self.sizes.profile_seconds
        timing = Timing(seconds, 0.5)
        for size in (1, BIG_ROOM):
            members = self.clients[:size]
            channel = f"#profile{size}"
            jid = gateway_room(channel)
            await self.observer.join(channel)
            await join_room(members, jid, self.observer, channel)
            for path in ("xmpp_irc", "irc_xmpp"):
                raw = self.stack.workdir / f"profile-{path}-{size}.txt"
                sampler = await record(process.pid, seconds, raw)
                say(f"profiling {path} with {size} user(s) for {seconds:g} s")
                await self.one_path(members, jid, channel, path, timing)
                await sampler.wait()
                if raw.exists():
                    self.profiles[f"{path}.{size}"] = summarize(raw)
            leave_room(members, jid)
            self.observer.part(channel)

    async def one_path(self, members: list[RawXmppClient], jid: str, channel: str, path: str, timing: Timing) -> None:
        assert self.observer is not None
        observer = self.observer
        route = Route()
        for client in members:
            client.on_stanza = route.xmpp
        observer.on_privmsg = route.irc(channel)
        if path == "xmpp_irc":
            await measure(route, len(members) + 1, lambda t, seq: members[0].send(
                message_xml(jid, t.body(seq), "groupchat")), members[0].drain, timing)
        else:
            await measure(route, len(members), lambda t, seq: observer.privmsg(channel, t.body(seq)),
                          observer.drain, timing)
        for client in members:
            client.on_stanza = None
        observer.on_privmsg = None

    # -- kill -9 in the middle of a flood ---------------------------------------------------------------------

    async def crash(self) -> None:
        """Each direction flooded, the gateway killed in the middle and started again: what arrived twice. A
        database of its own (on SQLite), so that the journal rows looked at are the flood's."""
        assert self.observer is not None
        client = self.clients[0]
        assert self.stack.sandbox is not None
        for column in self.gateway_columns():
            url = self.database_url or f"sqlite:///{self.stack.workdir}/crash-{column}.db"
            await self.prepare_database(column, url, count=1)
            settings = self.gateway_settings(column, url)
            for path in ("irc_xmpp", "sms_xmpp", "xmpp_irc"):
                gateway = crash.BenchGateway(self.stack, settings, f"{column}-crash-{path}")
                if path == "irc_xmpp":
                    result = await crash.irc_to_xmpp(gateway, client, self.observer, gateway_room("#crashin"),
                                                     "#crashin")
                elif path == "sms_xmpp":
                    result = await crash.sms_to_xmpp(gateway, self.stack.sandbox, self.stack.webhook_url, client,
                                                     user_number(0), contact_number(0))
                else:
                    result = await crash.xmpp_to_irc(gateway, client, self.observer, gateway_room("#crashout"),
                                                     "#crashout")
                self.figures.setdefault(f"crash.{path}.repeated", {})[column] = result.repeated
                self.figures.setdefault(f"crash.{path}.missing", {})[column] = result.lost
                say(f"{column}: kill -9 in {path}: {result.describe()}")

    # -- memory around floods to a client that does not read ---------------------------------------------------

    async def flood(self) -> None:
        assert self.observer is not None
        client = self.clients[-1]
        for column in self.gateway_columns():
            url = self.database_url or f"sqlite:///{self.stack.workdir}/flood-{column}.db"
            result = await flood_memory.flood_memory(self.stack, self.gateway_settings(column, url), column, client,
                                                     self.observer, FLOOD_LINES, FLOODS)
            self.figures.setdefault("flood.peak", {})[column] = (result.peak - result.before) / 1024
            self.figures.setdefault("flood.after", {})[column] = (result.after - result.before) / 1024
            self.figures.setdefault("flood.trimmed", {})[column] = (result.trimmed - result.before) / 1024
            say(result.describe())

    # -- biboumi ----------------------------------------------------------------------------------------------

    async def start_biboumi(self, name: str, users: list[RawXmppClient], history: bool) -> Process:
        assert self.stack.prosody is not None and self.stack.ngircd is not None
        process = biboumi.process(self.stack.workdir / name, self.stack.secret, self.stack.prosody.component_port)
        self.stack.processes.append(process)
        process.start()
        startup = await process.wait_until(lambda: biboumi.ready(process), 30)
        if name in ("biboumi_history", "biboumi_no_history"):
            self.figures.setdefault("startup", {})[name] = startup
        gate = asyncio.Semaphore(20)

        async def configure(client: RawXmppClient) -> None:
            async with gate:
                assert self.stack.ngircd is not None
                await biboumi.configure_user(client, self.stack.ngircd.port, history)

        await asyncio.gather(*(configure(c) for c in users))
        return process

    async def biboumi_runs(self) -> None:
        for column, history in (("biboumi_history", True), ("biboumi_no_history", False)):
            process = await self.start_biboumi(column, self.clients[:BIG_ROOM], history)
            try:
                await self.rooms(column, biboumi.room_jid("{channel}"), irc=True, target=process,
                                 label=f"biboumi, history {'on' if history else 'off'}")
            finally:
                self.stack.stop(process)

    # -- memory -----------------------------------------------------------------------------------------------

    async def memory(self) -> None:
        sizes = self.sizes
        scenarios: list[tuple[str, list[RawXmppClient], Plan, Plan]] = []
        group_users = self.clients[1:sizes.group_users + 1] if len(self.clients) > sizes.group_users else \
            self.clients[:sizes.group_users]
        shared_users = self.clients[:sizes.shared_users]
        scenarios.append(("mem.irc_groups", group_users, group_rooms(group_users, gateway_room),
                          group_rooms(group_users, biboumi.room_jid)))
        scenarios.append(("mem.irc_shared", shared_users, shared_rooms(shared_users, gateway_room),
                          shared_rooms(shared_users, biboumi.room_jid)))
        for row, users, gateway_plan, biboumi_plan in scenarios:
            process, _ = await self.stack.start_gateway(self.gateway_settings(), name=f"gateway-{row}")
            try:
                say(f"memory {row}: gateway, {len(users)} users")
                self.figures.setdefault(row, {})["gateway"] = await per_user_kib(
                    process.pid, users, gateway_plan, lambda: self.warm_up(gateway_room("#warm")))
                for members, room in gateway_plan:
                    leave_room(members, room)
                leave_room(self.clients[:1], gateway_room("#warm"))
                await asyncio.sleep(0.5)
            finally:
                self.stack.stop(process)
            if "biboumi" in self.parts and biboumi.biboumi_available():
                process = await self.start_biboumi(f"biboumi-{row}", users + self.clients[:1], history=False)
                try:
                    say(f"memory {row}: biboumi, {len(users)} users")
                    self.figures[row]["biboumi_no_history"] = await per_user_kib(
                        process.pid, users, biboumi_plan, lambda: self.warm_up(biboumi.room_jid("#warm")))
                    for members, room in biboumi_plan:
                        leave_room(members, room)
                    leave_room(self.clients[:1], biboumi.room_jid("#warm"))
                    await asyncio.sleep(0.5)
                finally:
                    self.stack.stop(process)
        await self.sms_memory()

    async def warm_up(self, room: str) -> None:
        """One user in one room first, so one-time costs (code paths, buffers) are not counted per user."""
        await join_room(self.clients[:1], room, None, None)

    async def sms_memory(self) -> None:
        """RSS per idle SMS user: what each of a second wave of users adds. The first wave, as many users at once,
        holds the one-time costs of that many exchanges at once (connections, buffers, the allocators' arenas for
        them), as the warm-up user holds those of one; its own figure goes in a note. Then the same two waves in a
        process traced by tracemalloc (bench/probe.py), for what the second one holds: Python's objects per user,
        by the package of the code that allocated them (tracing slows the process and adds its own memory, so the
        RSS row comes from the first one)."""
        assert self.stack.sandbox is not None
        count = self.sizes.sms_idle_users
        first, second = (list(enumerate(self.clients[start:start + count], start=start))
                         for start in (1, count + 1))
        say(f"memory: {count} idle SMS users, after a first wave of {count}")
        process, _ = await self.stack.start_gateway(self.gateway_settings(), name="gateway-mem-sms")
        try:
            await self.sms_exchange([(0, self.clients[0])])
            start = await settled_rss(process.pid)
            await self.sms_exchange(first)
            before = await settled_rss(process.pid, pause=1.0)
            await self.sms_exchange(second)
            after = await settled_rss(process.pid, pause=1.0)
            self.figures.setdefault("mem.sms_idle", {})["gateway"] = (after - before) / count
        finally:
            self.stack.stop(process)
        self.notes.append(f"idle SMS users: the first {count} after one warm-up user added "
                          f"{(before - start) / count:.1f} KiB of RSS each, the next {count} "
                          f"{(after - before) / count:.1f} KiB each (the row)")

        settings = self.gateway_settings()
        settings.probe_report = self.stack.workdir / "probe-sms-idle.jsonl"
        settings.env["PYTHONTRACEMALLOC"] = "1"
        process, _ = await self.stack.start_gateway(settings, name="gateway-mem-sms-traced")
        try:
            for wave in ([(0, self.clients[0])], first):
                await self.sms_exchange(wave)
            await asyncio.sleep(1.0)
            # the first report: what the second one compares with
            report_before = await probe_report(process.pid, settings.probe_report)
            await self.sms_exchange(second)
            await asyncio.sleep(1.0)
            report_after = await probe_report(process.pid, settings.probe_report)
        finally:
            self.stack.stop(process)
        # From the snapshots' difference: tracemalloc's own total counts the snapshot the probe keeps.
        grown_items = report_after.get("grown", [])
        python = sum(item["bytes"] for item in grown_items) / count / 1024
        self.figures.setdefault("mem.sms_idle.python", {})["gateway"] = python
        by_package: dict[str, int] = {}
        for item in grown_items:
            package = _package(item["where"])
            by_package[package] = by_package.get(package, 0) + item["bytes"]
        grown = ", ".join(f"{package} {size / count:,.0f} B" for package, size in
                          sorted(by_package.items(), key=lambda kv: -kv[1])[:10])
        loaded = report_after.get("new_modules", [])
        sqlite_before, sqlite_after = (entry.get("sqlite_kib") for entry in (report_before, report_after))
        self.notes.append(f"an idle SMS user of the second wave, traced: {python:.1f} KiB of Python objects each, by "
                          f"the package of the code that allocated them: {grown}; modules first loaded meanwhile: "
                          + (f"{len(loaded)} ({', '.join(loaded[:5])})" if loaded else "none")
                          + (f"; SQLite's own allocations (page caches, statements) grew "
                             f"{(sqlite_after - sqlite_before) / count:.1f} KiB per user"
                             if sqlite_before is not None and sqlite_after is not None else ""))

    async def sms_exchange(self, batch: list[tuple[int, RawXmppClient]]) -> None:
        """Each user texts one contact and gets one text back, then stays online and idle. The webhooks'
        connections are closed after (the gateway's server would close them once idle): they are the load
        generator's, not a user's."""
        sandbox = self.stack.sandbox
        assert sandbox is not None
        poster = WebhookPoster(sandbox, self.stack.webhook_url)
        got = [c.expect(lambda e: e.tag.endswith("}message") and (e.get("from") or "").startswith("+"))
               for _, c in batch]
        created = len(sandbox.messages) + len(batch)
        try:
            for index, client in batch:
                client.send(message_xml(f"{contact_number(index)}@{SMS_DOMAIN}", "hello"))
                poster.post(contact_number(index), user_number(index), "hi back")
            await asyncio.wait_for(asyncio.gather(*got), 60)
            # Every text sent (the first one waits for the twilio SDK, which loads at start-up: a warm-up that did
            # not wait for it counted the SDK's modules as the users'), then its status callbacks answered.
            for _ in range(600):
                if len(sandbox.messages) >= created:
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the sandbox got {len(sandbox.messages) - created + len(batch)} of "
                                   f"{len(batch)} texts in 60 s")
            await asyncio.wait_for(sandbox.idle(), 60)
        finally:
            await poster.close()

    async def run(self) -> None:
        await self.setup()
        if "ceilings" in self.parts:
            await self.ceilings()
        if self.parts & {"gateway", "sms", "profile"}:
            await self.gateway()
        if "crash" in self.parts:
            await self.crash()
        if "flood" in self.parts:
            await self.flood()
        if "biboumi" in self.parts and biboumi.biboumi_available():
            await self.biboumi_runs()
        elif "biboumi" in self.parts:
            self.notes.append("biboumi is not installed: its columns are empty")
        if "memory" in self.parts:
            await self.memory()
        if "archive" in self.parts:
            await self.archive()

    async def archive(self) -> None:
        """MAM pages of 50 over a journal of `archive_rows` room lines, on SQLite and on PostgreSQL."""
        say(f"room archive: {self.sizes.archive_rows:,} journal rows on SQLite, then PostgreSQL")
        for result in (await room_archive.sqlite(self.sizes.archive_rows, ARCHIVE_QUERIES),
                       await room_archive.postgres(self.sizes.archive_rows, ARCHIVE_QUERIES)):
            if isinstance(result, str):
                self.notes.append(result)
                continue
            say(result.report())
            key = f"archive.{result.database.lower()}"
            column = self.figures.setdefault
            column(f"{key}.p50", {})["gateway"] = result.percentile(0.5)
            column(f"{key}.p99", {})["gateway"] = result.percentile(0.99)
            column(f"{key}.bytes", {})["gateway"] = result.size / result.rows


def _package(filename: str) -> str:
    """The package a source file belongs to: the gateway's subpackage, a site package, or the standard library's
    module."""
    parts = Path(filename).parts
    if "gateway" in parts and "site-packages" not in parts:
        rest = parts[parts.index("gateway") + 1:]
        return "gateway/" + rest[0].removesuffix(".py") if rest else "gateway"
    for marker in ("site-packages", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        if marker in parts:
            rest = parts[len(parts) - parts[::-1].index(marker):]
            return rest[0].removesuffix(".py") if rest else filename
    return filename


def _parts(text: str) -> frozenset[str]:
    parts = frozenset(p.strip() for p in text.split(",") if p.strip())
    if not parts or parts - PARTS:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(sorted(PARTS))}")
    return parts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole table (500/200 users, 10 s runs)")
    parser.add_argument("--database", default="", help="the gateway's database URL (default: SQLite in the run dir)")
    parser.add_argument("--write", type=Path, help="write BENCHMARKS.md (or another file) from this run")
    parser.add_argument("--only", type=_parts, default=PARTS,
                        help=f"comma-separated parts to run, of: {', '.join(sorted(PARTS))} (default: all)")
    parser.add_argument("--workdir", type=Path, help="keep configs, logs and profiles here (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the gateway's IRC and SMS paths N times, alternating which column goes first, and "
                             "report each figure's median")
    parser.add_argument("--baseline", metavar="REF",
                        help="also run the gateway of this git commit (e.g. HEAD~1), or of the checkout in this "
                             "directory, in a column of its own")
    args = parser.parse_args(argv)
    if args.write and (args.only != PARTS or args.baseline or args.repeat > 1):
        # Refused before the run, not after it: BENCHMARKS.md is the whole table of this code alone.
        parser.error("--write takes a whole run of this code alone (not with --only, --baseline or --repeat)")
    return args


def checkout(ref: str, into: Path) -> Path:
    """The gateway package of commit `ref`, extracted with git archive (the working tree is left alone); `ref` may
    also be a directory that holds a checkout."""
    if (Path(ref) / "gateway" / "__init__.py").is_file():
        return Path(ref).resolve()
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref, "gateway", "migrations"],
                             cwd=Path(__file__).resolve().parent.parent, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # Installed, the revisions are the package gateway.migrations: put the baseline's there, or the editable
    # install of this checkout would hand it this version's.
    (into / "migrations").rename(into / "gateway" / "migrations")
    return into


async def main_async(args: argparse.Namespace) -> int:
    sizes = FULL if args.full else QUICK
    with contextlib.ExitStack() as cleanup:
        workdir = args.workdir or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        workdir.mkdir(parents=True, exist_ok=True)
        baseline = checkout(args.baseline, workdir.resolve() / "baseline-src") if args.baseline else None
        # Compiled as an installed package is (pip compiles at install): start-up counts no compiling, also when
        # PYTHONDONTWRITEBYTECODE keeps a run from caching what it compiled.
        for source in (ROOT, baseline):
            if source is not None:
                compileall.compile_dir(source / "gateway", quiet=1)
        bench = Bench(sizes, args.database, workdir.resolve(), args.only, baseline, max(1, args.repeat))
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        started = time.perf_counter()
        try:
            await bench.run()
        finally:
            await bench.close()
        elapsed = time.perf_counter() - started
        command = ("make bench" + (" FULL=1" if args.full else "") + (" DB=..." if args.database else "")
                   + (f" BASELINE={args.baseline}" if args.baseline else "")
                   + (f" REPEAT={args.repeat}" if args.repeat > 1 else "")
                   + (f" WRITE={args.write}" if args.write else ""))
        run = report.Run(figures=bench.figures, profiles=bench.profiles, notes=bench.notes, command=command,
                         mode="full" if args.full else "quick", seconds=elapsed,
                         database="PostgreSQL" if args.database.startswith("postgres") else "SQLite",
                         sizes=asdict(sizes), loadgen=await report.loadgen_ceiling())
        if "sms" in args.only:
            run.loadgen[report.WEBHOOK_CEILING] = await webhook_ceiling.ceiling()
        print(report.table(run))
        (workdir / "figures.json").write_text(json.dumps(bench.figures, indent=2))
        if args.write:
            args.write.write_text(report.markdown(run))
            print(f"wrote {args.write}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
