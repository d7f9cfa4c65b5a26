"""The table (terminal and Markdown) from one run's figures; BENCHMARKS.md is written only from these."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.measure import MACHINE, STREAM_COUNTERS, Tracker
from bench.profile import ProfileSummary
from bench.xmpp_load import RawXmppClient
from gateway.core.router import ROOM_ROUND

# (figure column, title, title in the ratio header)
COLUMNS = [("gateway", "gateway", "gw"), ("raw_bridge", "server ceiling", "server"),
           ("raw_bridge_ids", "server ceiling, stanza ids", "srv.ids"), ("echo", "echo ceiling", "echo"),
           ("biboumi_history", "biboumi hist. on", "bib.on"), ("biboumi_no_history", "biboumi hist. off", "bib.off")]
# The same gateway from another checkout (`--baseline REF`), measured in the same run: shown only when measured.
BASELINE = ("baseline", "baseline", "base")
TITLES = {column: title for column, title, _ in [*COLUMNS, BASELINE]}
# The processes whose CPU is sampled during each throughput run ("target": the column's own process).
PROCESS_NAMES = ("Prosody", "target", "ngircd", "load generator")
CPU_NAMES = (*PROCESS_NAMES, MACHINE)
# (row key, label, unit, higher is better)
ROWS: list[tuple[str, str, str, bool]] = []
for _path, _label in (("xmpp_irc", "XMPP->IRC"), ("irc_xmpp", "IRC->XMPP")):
    for _size in (1, 20):
        ROWS += [(f"{_path}.{_size}.rate", f"{_label}, {_size} user{'s' if _size > 1 else ''}", "msgs/s", True),
                 (f"{_path}.{_size}.p50", "  p50 at half rate", "ms", False),
                 (f"{_path}.{_size}.p99", "  p99 at half rate", "ms", False)]
for _path, _label in (("xmpp_sms", "XMPP->SMS (sandbox API)"), ("sms_xmpp", "SMS webhook->XMPP"),
                      ("sms_status", "SMS status callbacks")):
    ROWS += [(f"{_path}.rate", _label, "msgs/s", True), (f"{_path}.p50", "  p50 at half rate", "ms", False),
             (f"{_path}.p99", "  p99 at half rate", "ms", False)]
ROWS += [("mem.irc_groups", "RSS per IRC user, groups of 10, 2 chans", "KiB", False),
         ("mem.irc_shared", "RSS per IRC user, all in the same 2 chans", "KiB", False),
         ("mem.sms_idle", "RSS per idle SMS user", "KiB", False),
         ("mem.sms_idle.python", "  Python objects per user (traced run)", "KiB", False),
         ("startup", "start-up until connected", "s", False),
         ("loop_lag.p99", "event-loop lag, p99 (at most)", "ms", False),
         ("loop_lag.max", "event-loop lag, longest (at most)", "ms", False)]
for _database in ("SQLite", "PostgreSQL"):
    _key = f"archive.{_database.lower()}"
    ROWS += [(f"{_key}.p50", f"MAM page of 50 lines, {_database}, p50", "ms", False),
             (f"{_key}.p99", "  p99", "ms", False),
             (f"{_key}.bytes", "  bytes per archived line", "B", False)]
ROWS += [("flood.peak", "RSS growth, peak of two 20,000-line floods", "MiB", False),
         ("flood.after", "  after them (client not reading)", "MiB", False),
         ("flood.trimmed", "  after them and malloc_trim", "MiB", False)]
# kill -9 in the middle of a flood, the process started again on the same database (bench/crash.py).
for _path, _label in (("irc_xmpp", "IRC->XMPP, kill -9 mid-flood"), ("sms_xmpp", "SMS webhooks->XMPP, kill -9"),
                      ("xmpp_irc", "XMPP->IRC, kill -9 mid-flood")):
    ROWS += [(f"crash.{_path}.repeated", f"{_label}: received twice", "msgs", False),
             (f"crash.{_path}.missing", "  accepted, never received", "msgs", False)]


@dataclass
class Run:
    figures: dict[str, dict[str, float]]
    profiles: dict[str, ProfileSummary]
    notes: list[str]
    command: str
    mode: str
    seconds: float
    database: str
    sizes: dict[str, float]
    loadgen: dict[str, float] = field(default_factory=dict)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "s":
        return f"{value:.2f}"
    if unit == "msgs":
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or not theirs or math.isnan(ours) or math.isnan(theirs):
        return "-"
    return f"{ours / theirs:.2f}x"


def columns(run: Run) -> list[tuple[str, str, str]]:
    """The table's columns: the gateway and what it is compared with (the baseline only when it was measured)."""
    measured = any(BASELINE[0] in values for values in run.figures.values())
    return [COLUMNS[0], BASELINE, *COLUMNS[1:]] if measured else COLUMNS


def rows(run: Run) -> list[list[str]]:
    """Header plus one row per figure: label, unit, the columns, gateway as a ratio of the others."""
    shown = columns(run)
    header = ["", "unit"] + [title for _, title, _ in shown] + [f"gw/{short}" for _, _, short in shown[1:]]
    out = [header]
    for key, label, unit, _higher in ROWS:
        values = run.figures.get(key, {})
        if not values:
            continue
        ours = values.get("gateway")
        cells = [label, unit] + [_fmt(values.get(col), unit) for col, _, _ in shown]
        cells += [_ratio(ours, values.get(col)) for col, _, _ in shown[1:]]
        out.append(cells)
    return out


def cpu_rows(run: Run) -> list[list[str]]:
    """Per throughput row, each process's share of one core under each target: who was saturated."""
    return _throughput_rows(run, "cpu", "process", CPU_NAMES, "{:.0f}")


def server_io_rows(run: Run) -> list[list[str]]:
    """Per throughput row, Prosody's socket counters per message under each target."""
    return _throughput_rows(run, "io", "per message", STREAM_COUNTERS, "{:,.1f}")


def _throughput_rows(run: Run, kind: str, title: str, names: tuple[str, ...], form: str) -> list[list[str]]:
    shown = [(column, title) for column, title, _ in columns(run)
             if any(column in values for key, values in run.figures.items() if f".{kind}." in key)]
    out = [["", title, *(title for _, title in shown)]]
    for key, label, unit, _ in ROWS:
        if unit != "msgs/s":
            continue
        prefix = key.removesuffix(".rate")
        for name in names:
            values = run.figures.get(f"{prefix}.{kind}.{name}", {})
            if values:
                out.append([label, name, *(form.format(values[c]) if c in values else "-" for c, _ in shown)])
    return out if len(out) > 1 else []


def table(run: Run) -> str:
    data = rows(run)
    widths = [max(len(r[i]) for r in data) for i in range(len(data[0]))]
    lines = []
    for n, row in enumerate(data):
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        if n == 0:
            lines.append("-" * len(lines[0]))
    lines.append("")
    lines.append(f"{run.mode} run, gateway on {run.database}, {run.seconds:.0f} s. The server ceiling is a bridge "
                 "doing the gateway's routing with no work in between (no stanza library, no journal); the echo "
                 "ceiling a bare slixmpp component fanning each message out to the room (no IRC side), its figures "
                 "standing for both directions.")
    lines += ["CPU during the throughput runs, % of one core:", *("  " + "  ".join(row) for row in cpu_rows(run))]
    lines += ["Prosody's sockets per message during the throughput runs:",
              *("  " + "  ".join(row) for row in server_io_rows(run))]
    if run.loadgen:
        lines.append("load generator ceiling (one process, its own parsing only): "
                     + ", ".join(f"{k} {v:,.0f}/s" for k, v in run.loadgen.items()))
    lines += [f"note: {n}" for n in run.notes]
    if "xmpp_irc.1.lost" in run.figures or any(k.endswith(".lost") for k in run.figures):
        lost = {k: v for k, v in run.figures.items() if k.endswith(".lost")}
        lines.append("messages not delivered within the settle time: " + ", ".join(
            f"{k[:-5]} {col}={v:.0f}" for k, cols in lost.items() for col, v in cols.items()))
    for key, summary in run.profiles.items():
        lines.append(f"profile of the gateway, {_profiled(key)} ({summary.samples} samples; event loop "
                     f"{summary.idle:.0%} idle in the selector; other threads {summary.threads:.0%} of samples):")
        lines.append("  by package: " + ", ".join(f"{name} {share:.0%}" for name, share in summary.by_package[:8]))
        lines += [f"  self {share:5.1%}  {name}" for name, share in summary.self_top[:8]]
        lines += [f"  incl {share:5.1%}  {name}" for name, share in summary.gateway_inclusive[:8]]
    return "\n".join(lines)


# -- the machine ---------------------------------------------------------------------------------------------

def _dpkg_version(package: str) -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return result.stdout.strip() or "not installed"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    os_name = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"
    return {
        "CPU": cpu, "cores": str(os.cpu_count()), "RAM": f"{mem_kib / 1024 / 1024:.1f} GiB", "OS": os_name,
        "Python": sys.version.split()[0], "slixmpp": metadata.version("slixmpp"),
        "Prosody": _dpkg_version("prosody"), "ngircd": _dpkg_version("ngircd"), "biboumi": _dpkg_version("biboumi"),
    }


# -- the load generator's own ceiling ------------------------------------------------------------------------

async def loadgen_ceiling(count: int = 20000) -> dict[str, float]:
    """Stanzas/s and IRC lines/s the load generator parses and counts, with no server: its upper bound."""
    from bench.irc_load import RawIrcLoad

    client = RawXmppClient("probe", "localhost", "x")
    tracker = Tracker("m-", 1)
    for seq in range(count):
        tracker.mark_sent(seq)
    client.on_stanza = lambda e: tracker.got_text(e.findtext("{jabber:client}body"))
    data = (b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            + b"".join(f"<message from='#r%net@irc.localhost/nick' to='u1@localhost/bench' type='groupchat' id='x{n}'>"
                       f"<body>m-{n}</body><stanza-id xmlns='urn:xmpp:sid:0' id='s{n}' by='#r%net@irc.localhost'/>"
                       "</message>".encode() for n in range(count)))
    started = time.perf_counter()
    for offset in range(0, len(data), 262144):
        client.feed(data[offset:offset + 262144])
    xmpp_rate = tracker.done / (time.perf_counter() - started)

    irc = RawIrcLoad("probe")
    irc_tracker = Tracker("m-", 1)
    for seq in range(count):
        irc_tracker.mark_sent(seq)
    irc.on_privmsg = lambda _source, _target, text: irc_tracker.got_text(text)
    lines = [f":nick!user@host PRIVMSG #chan :m-{n}" for n in range(count)]
    started = time.perf_counter()
    for line in lines:
        irc._line(line)
    irc_rate = irc_tracker.done / (time.perf_counter() - started)
    return {"XMPP stanzas in": xmpp_rate, "IRC lines in": irc_rate}


# -- BENCHMARKS.md -------------------------------------------------------------------------------------------

LIMITS = f"""\
## What limits each figure

- **Server ceiling.** A bridge (`bench/raw_bridge.py`) that routes both paths as the gateway and biboumi do, one IRC
  connection per XMPP user, with no work in between: stanzas parsed by expat, answered with formatted strings, IRC
  lines split by hand, no journal. What is left is Prosody and ngircd (Prosody at about a full core in the CPU
  table, the bridge far below one): what these servers route on this machine for a gateway that costs nothing
  itself. How stanzas fall into reads and writes moves Prosody's cost per stanza, so a component that batches
  differently can pass it in some runs: read it as a bound for this machine, not an exact one. Its stanzas are the
  smallest a room message can be (no id, no stanza-id); Prosody's cost per stanza grows with its size (the socket
  table gives the bytes per message of each target), and the gateway's carry an id and a stanza-id (XEP-0045,
  XEP-0359). The second server ceiling is the same bridge sending those too: a stanza-id on every room message, and
  the client's id kept on the reflection. It is what these servers route for a gateway whose clients can refer to
  room messages (replies, corrections, moderation, archive paging).
- **Echo ceiling.** A bare slixmpp component that copies each room message to every occupant (no IRC side; its
  figure stands for both directions): Prosody plus slixmpp's own stanza handling (parse, match handlers, build and
  serialise each copy). On 2 cores Prosody, the component and the load generator share the CPUs; this is what a
  Python component built on a stanza library reaches here.
- **Gateway, XMPP->IRC and IRC->XMPP.** One asyncio loop does everything for every user: the component stream (slixmpp
  parsing; room messages are written as text), the IRC connections (one per XMPP user) and the journal. Every message
  is journaled before the gateway acts on it; the writes of all messages waiting at the same time share one
  transaction and one statement per kind (group commit, at most 128 writes a transaction), so the database work per
  delivered message is constant; delivery marks and outcomes go into the next transaction ahead of other writes (a
  mark alone waits up to 5 ms for company). At most 1,024 stanzas are on the XMPP stream unconfirmed: what a crash
  repeats is bounded (the kill -9 rows), and Prosody is pinged after each 64 of them. On SQLite a
  transaction of a few writes runs on the event loop itself, unless the writer has been busy without a pause for 5 ms
  (load): then, and for a large one, it runs in the journal's writer thread, where SQLite's own work runs beside the
  loop's and the loop reads on, so a backlog becomes one batch. In the thread each SQLite step hands the GIL over and
  takes it back only once the busy loop falls idle: a message waiting for its commit waited for that, so light traffic
  commits on the loop (SQLite's work shows in the profiles below as `do_execute` and `do_commit`). A batch's rows go
  in as multi-row INSERTs (one SQLite step each), and WAL checkpoints run in a thread of their own, never inside a
  commit; once the WAL passes 16 MiB, the rest of it is copied between two transactions, so that the next one starts
  it over (under steady writes the checkpoint beside them never caught up, and the WAL grew by hundreds of MB). With
  20 users a line sent to the channel reaches each user's own IRC connection (as on biboumi) and becomes 20 journal
  rows, 20 stanzas and 20 delivery marks (the line is parsed once for all of them). Received IRC lines are
  acknowledged at once (TCP_QUICKACK): ngircd keeps Nagle's algorithm on, and held the lines of a burst after the
  first until the gateway's delayed ACK. The "machine" line of the CPU table shows when the two cores, not one
  process, are what is left. Flood control: a burst of 1,000,000 lines, which no run exhausts. The profiles below show
  where the loop spends its time.
- **biboumi.** With history on, one SQLite transaction (with fsync) per receiving user per line; with history off,
  its single-threaded C++ loop and Prosody.
- **SMS.** Each path is spread over 50 users, each with a number of their own (bench/sms_load.py). A user's texts
  are checked one at a time in their order (binding, mapping, opt-out, and the daily-limit reservation) and a number
  sends its texts one at a time, so XMPP->SMS grows with the numbers in use. It includes the HTTP call to the
  sandbox's Messages API (the sandbox runs in the load generator's process). The sandbox holds back the status
  callbacks of the messages created there; the status row then posts them, "sent" and then "delivered" for each
  (past those, the same again, which the gateway finds settled), a callback counting when answered 200.
  Webhooks->XMPP includes the signature check (HMAC-SHA1 over URL and parameters) and the journal write before the
  200 answer. The load generator's own ceiling for signed webhooks (a bare aiohttp server in a process of its own that
  only checks the signature, bench/webhook_ceiling.py) is printed with the run.
- **Room archive.** bench/archive.py: a journal of 1,000,000 room lines (100,000 in a quick run) filled by bulk
  inserts (half of them one user's lines of one room, the rest 49 other user-room pairs interleaved), then 1,000 MAM
  pages of 50 asked of gateway.store.archive directly (no XMPP), in turns of six kinds: the last page, after an id,
  before an id, since a time, one nick's lines (half of the nicks asked for spoke only in other rooms), the lines of a
  nick that said one in 10,000. Keyset paging on the journal's id, with an index for a user's lines of a room and one
  for a room's lines by nick. Bytes per line: the SQLite file, or PostgreSQL's journal table with its indexes, over
  the rows.
- **Memory.** The gateway's RSS after the users joined, minus its RSS after one warm-up user, divided by the users;
  the same for biboumi. A fresh process for each scenario. An idle SMS user has texted one contact and got one text
  back; the load generator's webhook connections are closed before each reading (they are not a user's, and the
  gateway's server closes idle ones). The SMS users come in two waves of as many, all of a wave at once: the row is
  what each user of the second wave added. The first wave's growth, in a note, also holds the one-time costs of that
  many exchanges at once (connections to the API and from the webhooks' sender, their buffers, and the allocators'
  arenas they grew, which stay), as the warm-up user's holds those of one. The same waves again in a second process
  under bench/probe.py with tracemalloc on give what an idle SMS user of the second wave holds: Python's objects per
  user, and (a note) by the package of the code that allocated them. What RSS counts beyond these is the
  allocators' pages around them, and SQLite's page caches, which grow with the database up to their size.
- **kill -9.** A flood in one direction (2,000 IRC lines into the channel, 2,000 room messages from the XMPP user, or
  signed webhooks at 150 a second), the gateway killed once a third to a half of it arrived, then started again on
  the same database (it brings the user back into the room by itself). "Received twice" is what the far side got
  again: room messages and texts by their id (the journal's, the same on the redelivery), IRC lines by their text.
  It is what the server had processed, or IRC had been sent, and the journal had not yet marked: at most 1,024
  unconfirmed stanzas on the XMPP stream plus the marks of a few milliseconds, and on the IRC side the lines of about
  two transactions. "Accepted, never received" must be 0.
- **Floods.** One XMPP user in a channel whose client stops reading (Prosody buffers for it), two floods of 20,000
  IRC lines: the gateway's RSS above its level before, at the peak and once settled after them (bench/flood_memory.py;
  the gateway under bench/probe.py, which also reports its queues and what Python's and glibc's allocators hold).
  What stays is allocator pages around the objects alive at the peak, not objects: lines wait in the journal, not in
  memory, past 4,096 unconfirmed room messages, but lines read from IRC must be held until journaled (the IRC
  server cuts a client that does not read).
- **Start-up.** From exec to every component connected to Prosody (the gateway's /healthz answering 200; biboumi's
  log line; the bridge's and the echo component's session).
- **Event-loop lag.** The gateway's own probe (`xmpp_gateway_event_loop_lag_seconds` on /metrics): a timer every 100
  ms, and how late the loop ran it, over every IRC and SMS run above (mostly at full load). Its histogram keeps
  buckets, not values, so the figures are bucket bounds. A blocking call (a synchronous query, a DNS lookup) would
  show as a stall of its own length; at full load the timer waits behind a turn of the loop: a commit (on SQLite it
  runs on the loop) or what one released, at most {ROOM_ROUND} room messages (with 20 users, 20 stanzas per line).
  Start-up's objects are frozen out of the garbage collector: every full collection walked them all, and stalled the
  loop for it.
- **The performance goals** (the end of "Against the targets"). A goal not met is printed with the figures of the
  same run that held it:
  - *IRC rows at 0.8x of the server ceiling.* The ceiling routes with no stanza library, no journal and the smallest
    stanzas. The same bridge with the stanza ids the gateway must send shows what of the gap is Prosody's cost of
    those ids: a gateway that sends them is bound by that ceiling. The echo ceiling, a slixmpp component that only
    copies each message, shows what a component reaches here with no work of its own when slixmpp parses and writes
    its stanzas. The gateway parses what it receives over XMPP the same way but writes its stanzas as text, so it can
    pass the echo ceiling, not the server's. Past that its loop is the limit (its CPU near one core, the machine's
    near both): the next bound is its work per message in the profiles below (SQLite's execute and commit for the
    journal, slixmpp's parsing, the socket writes).
  - *Latency at half rate.* A message is journaled before it goes on: under load it waits for the commit under way
    and then for its own, and the gateway shares the two cores with Prosody and the load generator. The server
    ceiling's and the echo ceiling's own latencies on the same row are printed beside it. The next bound is the
    commit on the path.
  - *SMS rows.* The gateway's CPU during the row is printed: near one core, its loop is the limit (aiohttp's request
    handling, the signature check, the journal's read and write per webhook). Beside the webhook rows is the load
    generator's own ceiling, a bare aiohttp server that only checks the signature, in a process of its own: a row
    near it is the generator's limit as much as the gateway's, and a faster generator is the next bound.
  - *Start-up.* The note lists the five starts: the same code varies between them on this machine.
  - *RSS per idle SMS user.* The traced row and its note say what an idle user holds: Python's objects, SQLite's
    allocations (its page caches grow with the database, up to their size); the rest is the allocators' pages.
"""


# The targets, checked against this run's figures: (row, other column, the least ratio to it).
TARGETS = [(f"{path}.{size}.rate", column, bound)
           for path in ("xmpp_irc", "irc_xmpp") for size in (1, 20)
           for column, bound in (("biboumi_history", 10.0), ("biboumi_no_history", 0.5))]
MEMORY_TARGETS = [("mem.irc_groups", 32.0), ("mem.irc_shared", 75.0)]  # KiB at most (75: biboumi's, well under)


def targets(run: Run) -> list[str]:
    """Each target, the figure that meets it or not; nothing for a figure this run did not measure."""
    lines = ["## Against the targets", ""]
    for row, column, bound in TARGETS:
        ours, theirs = run.figures.get(row, {}).get("gateway"), run.figures.get(row, {}).get(column)
        if ours and theirs:
            ratio = ours / theirs
            verdict = "met" if ratio >= bound else "not met"
            ceiling = run.figures.get(row, {}).get("raw_bridge")
            if ratio < bound and ceiling:
                verdict += (f": it needs {bound * theirs:,.0f} msgs/s, the server ceiling is {ceiling:,.0f} "
                            f"({bound * theirs / ceiling:.2f}x of it)")
                lean = run.figures.get(row, {}).get("biboumi_no_history")
                if column != "biboumi_no_history" and lean:
                    verdict += f"; biboumi without history, on the same routing, reached {lean:,.0f}"
            lines.append(f"- {_row_label(row)}: {ratio:.2f}x {TITLES[column]} (target at least {bound:g}x): {verdict}")
    for row, bound in MEMORY_TARGETS:
        ours = run.figures.get(row, {}).get("gateway")
        if ours is not None:
            lines.append(f"- {_row_label(row)}: {ours:.1f} KiB (target at most {bound:g} KiB): "
                         f"{'met' if ours <= bound else 'not met'}")
    lines += goals(run)
    return lines if len(lines) > 2 else []


# The performance goals, checked against this run's figures (see "What limits each figure" for why one is not met).
CEILING_SHARE = 0.8  # every IRC row's throughput, of the server ceiling's in the same run
LATENCY_SLACK = {"p50": 5.0, "p99": 20.0}  # ms over biboumi without history, on every IRC row
WEBHOOK_CEILING = "signed webhooks to a bare server"  # the load generator's own ceiling, in Run.loadgen
SMS_GOALS = [("sms_xmpp.rate", 1000.0), ("xmpp_sms.rate", 500.0), ("sms_status.rate", 2000.0)]  # msgs/s at least
STARTUP_GOAL = 1.0  # s at most
SMS_IDLE_GOAL = 16.0  # KiB at most


def goals(run: Run) -> list[str]:
    """The performance goals; for each one not met, the figures of this run that say what held it."""
    def value(row: str, column: str = "gateway") -> float | None:
        found = run.figures.get(row, {}).get(column)
        return None if found is None or math.isnan(found) else found

    def cpu(row: str) -> str:
        prefix = row.removesuffix(".rate")
        shares = [(name, value(f"{prefix}.cpu.{name}")) for name in ("target", "Prosody", MACHINE)]
        shown = [f"{'the gateway' if name == 'target' else name} {share:.0f}%" for name, share in shares
                 if share is not None]
        return f"CPU in % of one core: {', '.join(shown)} (of {100 * (os.cpu_count() or 1)}%)" if shown else ""

    lines: list[str] = []
    for key, label, unit, _ in ROWS:
        path = key.removesuffix(".rate")
        if unit != "msgs/s" or not key.startswith(("xmpp_irc.", "irc_xmpp.")):
            continue
        ours, ceiling, echo = value(key), value(key, "raw_bridge"), value(key, "echo")
        with_ids = value(key, "raw_bridge_ids")
        if ours is not None and ceiling:
            share = ours / ceiling
            verdict = "met" if share >= CEILING_SHARE else "not met: " + "; ".join(filter(None, [
                f"the same bridge sending the stanza ids the gateway must reached {with_ids / ceiling:.2f}x of it, "
                f"the gateway {ours / with_ids:.2f}x of that" if with_ids else "",
                f"a bare slixmpp component reached {echo / ceiling:.2f}x of it" if echo else "", cpu(key)]))
            lines.append(f"- {label}: {share:.2f}x the server ceiling (goal at least {CEILING_SHARE:g}x): {verdict}")
        for stat, slack in LATENCY_SLACK.items():
            ours, lean = value(f"{path}.{stat}"), value(f"{path}.{stat}", "biboumi_no_history")
            if ours is None or lean is None:
                continue
            verdict = "met" if ours <= lean + slack else "not met"
            if ours > lean + slack:
                floor = [f"{TITLES[c]} {v:.1f} ms" for c in ("raw_bridge", "echo")
                         if (v := value(f"{path}.{stat}", c)) is not None]
                verdict += f" (same row: {', '.join(floor)})" if floor else ""
            lines.append(f"- {label}, {stat} at half rate: {ours:.1f} ms, biboumi without history {lean:.1f} ms "
                         f"(goal at most {slack:g} ms over it): {verdict}")
    for key, bound in SMS_GOALS:
        ours = value(key)
        if ours is not None:
            verdict = "met" if ours >= bound else f"not met: {cpu(key)}"
            ceiling = run.loadgen.get(WEBHOOK_CEILING)
            if key != "xmpp_sms.rate" and ceiling:  # both are signed webhooks
                verdict += f"; the load generator's own ceiling {ceiling:,.0f}/s"
            lines.append(f"- {_row_label(key)}: {ours:,.0f} msgs/s (goal at least {bound:,.0f}): {verdict}")
    startup, idle = value("startup"), value("mem.sms_idle")
    if startup is not None:
        lines.append(f"- {_row_label('startup')}: {startup:.2f} s (goal at most {STARTUP_GOAL:g} s): "
                     f"{'met' if startup <= STARTUP_GOAL else 'not met'}")
    if idle is not None:
        lines.append(f"- {_row_label('mem.sms_idle')}: {idle:.1f} KiB (goal at most {SMS_IDLE_GOAL:g} KiB): "
                     f"{'met' if idle <= SMS_IDLE_GOAL else 'not met'}")
    return lines


def _row_label(row: str) -> str:
    return next(label for key, label, _, _ in ROWS if key == row).strip()


def _profiled(key: str) -> str:
    """"xmpp_irc.20" -> "XMPP->IRC with 20 users"."""
    path, _, size = key.partition(".")
    return f"{path.replace('_', '->').upper()} with {size} user{'s' if size != '1' else ''}"


def _markdown_table(data: list[list[str]]) -> list[str]:
    if not data:
        return []
    lines = ["| " + " | ".join(data[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(data[0]) - 1)) + "|"]
    return lines + ["| " + " | ".join(cell.strip() for cell in row) + " |" for row in data[1:]]


def markdown(run: Run) -> str:
    table_md = _markdown_table(rows(run))
    info = machine()
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench WRITE=BENCHMARKS.md` from the figures of one run; nothing here is typed in by hand. "
        "Run it yourself with `make bench` (quick, a few minutes) or `make bench FULL=1` (the whole table); add "
        "`DB=postgresql+asyncpg://...` for the gateway on PostgreSQL.",
        "",
        f"Command: `{run.command}` ({run.mode} mode, gateway on {run.database}, {run.seconds:.0f} s in all). "
        "Everything on 127.0.0.1: one Prosody and one ngircd shared by every target, the SMS sandbox, the load "
        "generator in its own process (raw asyncio XMPP and IRC clients). Prosody runs with Nagle's algorithm off "
        "(`network_settings = { nagle = false }`) for every target: with Prosody's default, a client that only "
        "receives (IRC->XMPP) is sent its stanzas in one burst per delayed ACK of its own, which caps that row at "
        "about one window of messages per delayed-ACK interval, whatever the component.",
        "",
        "Sizes: " + ", ".join(f"{k.replace('_', ' ')} {int(v):,}" if v == int(v) else f"{k.replace('_', ' ')} {v:g}"
                              for k, v in run.sizes.items()) + ".",
        "",
        *table_md,
        "",
        "Ratios are the gateway's figure divided by the other column's (for msgs/s higher is better; for ms and "
        "KiB lower is). Throughput keeps at most 100 messages in flight and counts a message when every recipient "
        "has it (the IRC observer and each XMPP member); latency is per delivery, at half the measured rate. "
        "Start-up counts from exec until the process says every component is connected (the gateway's /healthz), "
        "with the gateway's modules compiled beforehand, as an installed package's are; the gateway's figure is the "
        "median of five starts (a note lists them), the other columns' one start each.",
        "",
        "CPU during each throughput run, in % of one core (the machine has "
        f"{os.cpu_count()}); \"target\" is the column's own process, the gateway, the bridge, the echo component "
        "or biboumi; "
        "\"machine\" is every CPU's busy time, the kernel's included (loopback networking runs in it):",
        "",
        *_markdown_table(cpu_rows(run)),
        "",
        "Prosody's sockets per message during each throughput run, from the kernel's TCP counters: what the target "
        "wrote to it (writes are TCP segments, about one per write with Nagle off) and what it wrote to the target "
        "and to the load generator's clients. What routing one message costs Prosody depends on these.",
        "",
        *_markdown_table(server_io_rows(run)),
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
    ]
    if run.loadgen:
        parts += ["", "Load generator ceiling (parsing and counting alone, no server): "
                  + ", ".join(f"{k} {v:,.0f}/s" for k, v in run.loadgen.items()) + "."]
    if run.notes:
        parts += ["", *[f"Note: {n}" for n in run.notes]]
    parts += ["", *targets(run), "", LIMITS]
    for key, summary in run.profiles.items():
        parts += [f"### Profile of the gateway: {_profiled(key)}", "",
                  f"py-spy, {summary.samples} samples. Shares below are of the event loop thread's samples "
                  "(SQLAlchemy's greenlets included, on PostgreSQL); it waited in the selector for "
                  f"{summary.idle:.0%} of them. "
                  "Other threads "
                  f"(on SQLite the store's reader and the WAL checkpoints) took {summary.threads:.0%} of all samples.",
                  "",
                  "On-CPU time of the event loop by the package of the innermost frame: "
                  + ", ".join(f"{name} {share:.0%}" for name, share in summary.by_package[:10]) + ".", "",
                  "| self | function |", "|---:|---|"]
        parts += [f"| {share:.1%} | `{name}` |" for name, share in summary.self_top]
        parts += ["", "| inclusive | gateway function |", "|---:|---|"]
        parts += [f"| {share:.1%} | `{name}` |" for name, share in summary.gateway_inclusive]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
