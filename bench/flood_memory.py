"""`python -m bench.flood_memory [--lines N] [--floods K] [--baseline REF|DIR]`: the gateway's memory around IRC floods
to an XMPP user whose client does not read.

The gateway runs under bench.probe (its own process). One XMPP user joins a channel, then stops reading its socket
(Prosody buffers for it); an IRC user floods the channel with N lines, K times, each flood until the journal has
delivered all of it. RSS is sampled every 100 ms: before (settled), at the peak, after (settled), and after
malloc_trim(0), whose difference is what glibc's allocator kept of freed memory. The probe's reports show which
queues held what during the floods. With --baseline the same runs on another checkout first, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from bench.crash import journaled
from bench.irc_load import RawIrcLoad
from bench.memory import read_reports, settled_rss
from bench.paths import join_room, leave_room
from bench.stack import DOMAIN, IRC_DOMAIN, NETWORK, PASSWORD, GatewaySettings, Stack, rss_kib
from bench.xmpp_load import RawXmppClient
from gateway.core.events import Direction


@dataclass
class FloodMemory:
    column: str
    before: int = 0  # KiB, settled
    peak: int = 0
    after: int = 0  # settled, after the last flood
    trimmed: int = 0  # after malloc_trim(0)
    malloc_free_kept: int = 0  # KiB glibc held free before the trim
    peaks: dict[str, int] = field(default_factory=dict)  # each queue's largest size seen

    def describe(self) -> str:
        mib = 1024
        return (f"{self.column}: RSS before {self.before / mib:.1f} MiB, peak {self.peak / mib:.1f} MiB "
                f"(+{(self.peak - self.before) / mib:.1f}), after {self.after / mib:.1f} MiB "
                f"(+{(self.after - self.before) / mib:.1f}), after malloc_trim {self.trimmed / mib:.1f} MiB "
                f"(+{(self.trimmed - self.before) / mib:.1f}); glibc held {self.malloc_free_kept / mib:.1f} MiB free "
                f"before the trim; largest queues: {self.peaks}")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def flood_memory(stack: Stack, settings: GatewaySettings, column: str, client: RawXmppClient,
                       observer: RawIrcLoad, lines: int, floods: int) -> FloodMemory:
    report = stack.workdir / f"probe-{column}.jsonl"
    settings.probe_report = report
    process, _ = await stack.start_gateway(settings, name=f"flood-{column}")
    result = FloodMemory(column)
    channel = f"#flood{secrets.token_hex(2)}"
    room = f"{channel}%{NETWORK}@{IRC_DOMAIN}"
    try:
        await observer.join(channel)
        await join_room([client], room, observer, channel)
        assert client._writer is not None
        transport = cast(asyncio.Transport, client._writer.transport)
        transport.pause_reading()  # the client stops reading: Prosody buffers for it
        result.before = await settled_rss(process.pid)
        result.peak = result.before
        for flood in range(floods):
            tag = f"f{flood}{secrets.token_hex(2)}-"
            for n in range(lines):
                observer.privmsg(channel, f"{tag}{n} " + "x" * 40)
            await observer.drain()
            deadline = time.monotonic() + 300
            next_report = 0.0
            while time.monotonic() < deadline:
                result.peak = max(result.peak, rss_kib(process.pid))
                if time.monotonic() >= next_report:
                    os.kill(process.pid, signal.SIGUSR1)
                    next_report = time.monotonic() + 1.0
                    rows = await journaled(settings.database_url or stack.sqlite_url, "irc", Direction.IN, client.bare,
                                           tag)
                    if len(rows) == lines and "pending" not in rows.values():
                        break
                await asyncio.sleep(0.1)
            say(f"  {column}: flood {flood + 1} of {lines} lines delivered; RSS now {rss_kib(process.pid) / 1024:.1f} "
                f"MiB, peak {result.peak / 1024:.1f} MiB")
        result.after = await settled_rss(process.pid, pause=1.0)
        os.kill(process.pid, signal.SIGUSR1)
        await asyncio.sleep(0.5)
        os.kill(process.pid, signal.SIGUSR2)
        await asyncio.sleep(1.0)
        result.trimmed = next((e["rss_kib"] for e in read_reports(report) if e["label"] == "after malloc_trim"), 0)
        reports = read_reports(report)
        for entry in reports:
            for name, size in entry["queues"].items():
                result.peaks[name] = max(result.peaks.get(name, 0), size)
        settled = [e for e in reports if e["label"] == "report"]
        if settled:
            result.malloc_free_kept = settled[-1]["malloc_kib"].get("free_kept", 0)
        for entry in reports[-2:]:
            for line in entry.get("top", []):
                say(f"    {entry['label']}: {line}")
    finally:
        if client._writer is not None:
            cast(asyncio.Transport, client._writer.transport).resume_reading()
        leave_room([client], room)
        observer.part(channel)
        await asyncio.sleep(1.0)
        stack.stop(process)
    return result


async def main_async(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as cleanup:
        workdir = args.workdir or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="flood-")))
        workdir.mkdir(parents=True, exist_ok=True)
        stack = Stack(workdir.resolve())
        client = RawXmppClient("flooded", DOMAIN, PASSWORD)
        observer = RawIrcLoad("flooder")
        try:
            await stack.start_servers()
            await stack.register([client.user])
            assert stack.prosody is not None and stack.ngircd is not None
            await client.login(stack.prosody.c2s_port)
            await observer.connect(stack.ngircd.port)
            columns: list[tuple[str, Path | None]] = []
            if args.baseline:
                from bench.run import checkout

                columns.append(("baseline", checkout(args.baseline, workdir.resolve() / "baseline-src")))
            columns.append(("gateway", None))
            env = dict(item.split("=", 1) for item in args.env)
            if args.tracemalloc:
                env["PYTHONTRACEMALLOC"] = "1"
            results = []
            for column, source in columns:
                settings = GatewaySettings(database_url=f"sqlite:///{workdir.resolve()}/{column}.db", sms=False,
                                           source=source, env=env)
                say(f"{column}: {args.floods} flood(s) of {args.lines} lines to a client that does not read")
                results.append(await flood_memory(stack, settings, column, client, observer, args.lines,
                                                  args.floods))
            for result in results:
                print(result.describe())
        finally:
            await client.close()
            await observer.close()
            await stack.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--floods", type=int, default=2)
    parser.add_argument("--baseline", metavar="REF", help="also run this git commit (or checkout directory) first")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocations (slow); the reports list them")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="in the gateway's environment, e.g. PYTHONMALLOC=malloc or MALLOC_ARENA_MAX=2")
    parser.add_argument("--workdir", type=Path)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
