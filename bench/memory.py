"""Resident memory per user: a fresh process, a warm-up user, then many users; (RSS after - RSS before) / users."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.paths import join_room
from bench.stack import rss_kib
from bench.xmpp_load import RawXmppClient


async def settled_rss(pid: int, pause: float = 0.5, tries: int = 20) -> int:
    """RSS once two samples `pause` apart agree within 1% (the process finished reacting to the joins)."""
    previous = rss_kib(pid)
    for _ in range(tries):
        await asyncio.sleep(pause)
        current = rss_kib(pid)
        if abs(current - previous) <= previous * 0.01:
            return current
        previous = current
    return previous


def read_reports(path: Path) -> list[dict[str, Any]]:
    """The reports bench/probe.py wrote, oldest first."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def probe_report(pid: int, path: Path, wait: float = 60.0) -> dict[str, Any]:
    """Ask the gateway under bench/probe.py for a report (SIGUSR1) and return it once written."""
    written = len(read_reports(path))
    os.kill(pid, signal.SIGUSR1)
    for _ in range(int(wait * 10)):
        await asyncio.sleep(0.1)
        reports = read_reports(path)
        if len(reports) > written:
            return reports[written]
    raise RuntimeError(f"the probe wrote no report to {path}")


Plan = list[tuple[list[RawXmppClient], str]]


def group_rooms(users: list[RawXmppClient], room: Callable[[str], str], group: int = 10) -> Plan:
    """Users in groups of `group`, each group in two channels of its own (as pairs: first room, second room)."""
    plan: Plan = []
    for start in range(0, len(users), group):
        members = users[start:start + group]
        for suffix in ("a", "b"):
            plan.append((members, room(f"#g{start // group}{suffix}")))
    return plan


def shared_rooms(users: list[RawXmppClient], room: Callable[[str], str]) -> Plan:
    """Every user in the same two channels."""
    return [(users, room("#shared1")), (users, room("#shared2"))]


async def per_user_kib(pid: int, users: list[RawXmppClient], plan: Plan,
                       warm_up: Callable[[], Awaitable[None]]) -> float:
    await warm_up()
    before = await settled_rss(pid)
    # First every user's first room (that opens their connection), then the second ones, a few rooms at a time.
    gate = asyncio.Semaphore(10)

    async def one(members: list[RawXmppClient], room: str) -> None:
        async with gate:
            await join_room(members, room, None, None)

    for wave in (plan[0::2], plan[1::2]):
        await asyncio.gather(*(one(members, room) for members, room in wave))
    after = await settled_rss(pid, pause=1.0)
    return (after - before) / len(users)
