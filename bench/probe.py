"""`python -m bench.probe REPORT -c CONFIG`: the gateway as `xmpp-gateway run` does it, plus answers about its memory.

SIGUSR1 appends one JSON line to REPORT: the process's RSS, what glibc's malloc holds (in use, free but kept) and
SQLite's part of it, the queues and caches that can grow with traffic (each component's outbox, slixmpp's send queue
and the socket's write buffer, the router's room inbox, the journal writer's queue, the lru caches of stanza text and
addresses), and with PYTHONTRACEMALLOC set, the lines that allocated the most of what is still alive. SIGUSR2 first
calls malloc_trim(0), which hands free heap pages back to the kernel, then reports the same: the difference is what
the allocator kept.
For the benchmark only: the gateway itself has none of this.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import functools
import gc
import json
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from gateway.app import Gateway
from gateway.config import load_config
from gateway.logs import setup_logging


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def malloc_kib() -> dict[str, int]:
    """glibc's own view: bytes in use, bytes free but kept in its arenas, bytes in mmapped blocks (KiB)."""
    try:
        mallinfo2 = _LIBC.mallinfo2  # glibc 2.33 and later
    except AttributeError:
        return {}
    mallinfo2.restype = _MallInfo2
    got = mallinfo2()
    return {"in_use": got.uordblks // 1024, "free_kept": got.fordblks // 1024, "mmapped": got.hblkhd // 1024,
            "arena": got.arena // 1024}


def pymalloc_kib() -> dict[str, int]:
    """Python's small-object allocator (its arenas are mmapped apart from malloc): arenas held, the bytes in live
    blocks, and the bytes free inside them (freed objects whose arena also holds a live one cannot go back)."""
    import os
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as out:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        value = value.strip().replace(",", "")
        if not value.isdigit():
            continue
        if key.startswith("# bytes in allocated blocks"):
            found["in_use"] = int(value) // 1024
        elif key.startswith("# bytes in available blocks"):
            found["free_in_pools"] = int(value) // 1024
        elif "unused pools" in key:
            found["unused_pools"] = int(value) // 1024
        elif key.startswith("# arenas allocated current"):
            found["arenas"] = int(value)
        elif key.startswith("Total") and "total" not in found:  # the arenas' (the next one is the arena map's)
            found["total"] = int(value) // 1024
    return found


def sqlite_kib() -> int | None:
    """What SQLite has allocated (page caches, prepared statements), asked of the library the sqlite3 module is
    linked to; None where that module carries its own copy (no shared library is mapped)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "/libsqlite3" in path:
            library = ctypes.CDLL(path)  # the handle of the copy already loaded
            library.sqlite3_memory_used.restype = ctypes.c_int64
            return int(library.sqlite3_memory_used()) // 1024
    return None


def _caches() -> dict[str, functools._lru_cache_wrapper[Any]]:
    from gateway.transports.irc import settings, wire
    from gateway.xmpp import addressing, stanza_text

    return {f"{module.__name__.rsplit('.', 1)[1]}.{name}": value
            for module in (stanza_text, addressing, wire, settings) for name, value in vars(module).items()
            if isinstance(value, functools._lru_cache_wrapper)}


def _cache_sizes() -> dict[str, int]:
    return {name: cache.cache_info().currsize for name, cache in _caches().items()}


def queues(gateway: Gateway) -> dict[str, Any]:
    """What can grow with traffic, by owner."""
    found: dict[str, Any] = {}
    for name, component in gateway.components.items():
        transport = getattr(component, "transport", None)
        found[f"{name}.outbox"] = len(component.outbox)
        found[f"{name}.outbox_unconfirmed"] = getattr(component.outbox, "unconfirmed", -1)  # -1: not counted
        found[f"{name}.send_queue"] = component.waiting_queue.qsize()
        found[f"{name}.socket_buffer_bytes"] = transport.get_write_buffer_size() if transport is not None else 0
    router = gateway.router
    if router is not None:
        found["router.room_inbox"] = len(router._room_inbox)
        found["router.tasks"] = len(router._tasks)
    if gateway.store is not None:
        found["journal.queue"] = len(gateway.store.journal.writer._queue)
    found.update(_cache_sizes())
    return found


_SNAPSHOTS: list[tracemalloc.Snapshot] = []  # the last report's, with tracemalloc on
_MODULES: set[str] = set()  # the modules loaded at the last report


def report(gateway: Gateway, path: Path, label: str) -> None:
    entry: dict[str, Any] = {"label": label, "time": time.time(), "rss_kib": rss_kib(), "malloc_kib": malloc_kib(),
                             "pymalloc_kib": pymalloc_kib(), "sqlite_kib": sqlite_kib(),
                             "queues": queues(gateway), "gc_objects": len(gc.get_objects())}
    if _MODULES:  # loaded since the last report: one-time costs, not a user's
        entry["new_modules"] = sorted(set(sys.modules) - _MODULES)
    _MODULES.update(sys.modules)
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        entry["traced_kib"] = tracemalloc.get_traced_memory()[0] // 1024
        entry["top"] = [f"{stat.size // 1024} KiB {stat.count} blocks {stat.traceback}"
                        for stat in snapshot.statistics("lineno")[:15]]
        if _SNAPSHOTS:  # what grew since the last report, by the file that allocated it
            entry["grown"] = [{"bytes": stat.size_diff, "blocks": stat.count_diff, "where": stat.traceback[0].filename}
                              for stat in snapshot.compare_to(_SNAPSHOTS[-1], "filename") if stat.size_diff]
        _SNAPSHOTS[:] = [snapshot]
    with path.open("a") as out:
        out.write(json.dumps(entry) + "\n")


def trim() -> None:
    _LIBC.malloc_trim(0)


async def run(config_path: Path, report_path: Path) -> None:
    config = load_config(config_path)
    setup_logging(config.log.level, config.log.format == "json", config.secrets())
    gateway = Gateway(config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, report, gateway, report_path, "report")

    def trimmed() -> None:
        trim()
        report(gateway, report_path, "after malloc_trim")
        # Then without the caches that outlive a flood (a few thousand small objects allocated during it, which
        # keep the allocator's pages around them), to see what they hold.
        for cache in _caches().values():
            cache.cache_clear()
        gc.collect()
        trim()
        report(gateway, report_path, "after clearing the lru caches and malloc_trim")

    loop.add_signal_handler(signal.SIGUSR2, trimmed)
    await gateway.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("-c", "--config", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(run(args.config, args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
