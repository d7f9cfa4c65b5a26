"""py-spy against the running gateway while a path is loaded, summarised as where the samples are.

`py-spy record --format raw` writes collapsed stacks ("frame;frame;... count"); the summary gives the functions
with the most samples on top of the stack (self) and the gateway functions with the most samples anywhere on it
(inclusive), as shares of all samples. --nonblocking: the gateway is not paused while sampled.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class ProfileSummary:
    samples: int
    self_top: list[tuple[str, float]]  # function, share of samples
    gateway_inclusive: list[tuple[str, float]]
    idle: float  # share of the event loop's samples where it waited in select/epoll
    threads: float  # share of all samples in other threads (the journal's writer on SQLite)
    by_package: list[tuple[str, float]]  # the event loop's on-CPU samples by the package of the top frame
    raw_path: Path


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


async def record(pid: int, seconds: float, output: Path, rate: int = 200) -> asyncio.subprocess.Process:
    """Start sampling `pid` for `seconds` (await .wait() on the result)."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    return await asyncio.create_subprocess_exec(
        tool, "record", "--pid", str(pid), "--duration", str(max(int(seconds), 1)), "--rate", str(rate),
        "--nonblocking", "--format", "raw", "--output", str(output),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match["file"]
    for marker in ("/site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match['func']} ({file})"


def _package(name: str) -> str:
    file = name[name.rfind("(") + 1:-1]
    if file.startswith("gateway/"):
        return "/".join(file.split("/")[:2]) if file.count("/") > 1 else "gateway"
    head = file.split("/", 1)[0] if "/" in file else file.split(".py")[0]
    return head or "?"


def summarize(raw: Path, top: int = 12) -> ProfileSummary:
    """Shares of the event loop thread's samples (greenlet stacks of SQLAlchemy included); other threads apart."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = loop_total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += count
        if frames[0].startswith("Thread._bootstrap"):
            continue  # a worker thread, counted in `threads`
        loop_total += count
        leaf = frames[-1]
        self_counts[leaf] += count
        if "(selectors.py)" in leaf:
            idle += count
        else:
            packages[_package(leaf)] += count
        for name in set(frames):
            if "(gateway/" in name and not name.startswith(("<module>", "main (", "_run (", "run_async (")):
                inclusive[name] += count

    def share(n: int) -> float:
        return n / loop_total if loop_total else 0.0

    return ProfileSummary(
        samples=total,
        self_top=[(name, share(n)) for name, n in self_counts.most_common(top)],
        gateway_inclusive=[(name, share(n)) for name, n in inclusive.most_common(top)],
        idle=share(idle),
        threads=(total - loop_total) / total if total else 0.0,
        by_package=[(name, share(n)) for name, n in packages.most_common(top)],
        raw_path=raw,
    )
