"""The fuzz suite's engine: seed and count, reproducible cases, failures with their input, batches and isolation.

Every case is generated from its own random.Random seeded with "<seed>:<boundary>:<index>", so one case can be
replayed alone: `FUZZ_SEED=S FUZZ_CASES=17,203 pytest tests/fuzz/test_x.py` sends exactly those inputs.

A boundary sends a batch of cases, then checks (answers, streams, liveness, the gateway's log). When a batch fails
in a way its own cases do not explain (a cut stream, a lost message, a traceback), the gateway is started afresh
on a new database and the batch is replayed one case at a time with a check after each: the case after which
the check fails is the culprit, reported with the seed and its index. The gateway is started afresh after each
culprit, because today a poison stanza stays in the outbox and would make every later check fail.

Some failures show on one input but follow from an earlier one (a join refused because a server line before it
left the connection unable to write): those "triggers" are traced back by bisecting what the gateway was sent
before, and the failure names both inputs. A gateway that does not stop is a failure of what it was sent since
it started. Replays and bisections share a time budget (FUZZ_ISOLATE_BUDGET); past it, a failing batch is
reported whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# -- seed, count, selection -----------------------------------------------------------------------------------

ENV_SEED, ENV_COUNT, ENV_CASES = "FUZZ_SEED", "FUZZ_COUNT", "FUZZ_CASES"
DEFAULT_COUNT = 2000
KINDS = ("crash", "unanswered_iq", "cut_stream", "lost_message")


def _seed_from_env() -> int:
    value = os.environ.get(ENV_SEED, "").strip()
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


SEED = _seed_from_env()  # once per process: every boundary of a run uses the same printed seed


def fuzz_count() -> int:
    value = os.environ.get(ENV_COUNT, "").strip()
    return int(value) if value else DEFAULT_COUNT


def isolate_budget(count: int) -> float:
    """Seconds a boundary may spend replaying failed batches case by case (FUZZ_ISOLATE_BUDGET)."""
    value = os.environ.get("FUZZ_ISOLATE_BUDGET", "").strip()
    return float(value) if value else 20.0 + 0.01 * count


def selected_cases(count: int) -> list[int]:
    """The case indices to run: FUZZ_CASES ("3,17,40-45") if set, else 0..count-1."""
    value = os.environ.get(ENV_CASES, "").strip()
    if not value:
        return list(range(count))
    chosen: list[int] = []
    for part in value.split(","):
        start, _, end = part.strip().partition("-")
        chosen.extend(range(int(start), int(end) + 1) if end else [int(start)])
    return chosen


def compress(indices: Sequence[int]) -> str:
    """Case indices in the order given, runs of consecutive ones as "a-b" (FUZZ_CASES reads both)."""
    parts: list[str] = []
    run: list[int] = []
    for index in indices:
        if run and index == run[-1] + 1:
            run.append(index)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [index]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts) or "none"


def rng_for(boundary: str, index: int, seed: int = SEED) -> random.Random:
    return random.Random(f"{seed}:{boundary}:{index}")


def shorten(value: Any, limit: int = 240) -> str:
    """repr() of an input, cut in the middle when long (with its full length)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 70]} ... {text[-50:]} ({len(text)} chars as repr)"


# -- cases and failures ---------------------------------------------------------------------------------------


@dataclass
class Case:
    """One input: `label` says what kind of input it is, `data` is what goes on the wire."""

    index: int
    label: str
    data: Any
    meta: dict[str, Any] = field(default_factory=dict)  # what a check needs (e.g. the ids of IQs to count)

    def short(self, limit: int = 240) -> str:
        return shorten(self.data, limit)


@dataclass
class Failure:
    kind: str  # one of KINDS, or "stall" / "double_answer"
    detail: str
    case: Case | None = None  # None: a batch failed and no single case reproduced it
    batch: tuple[int, ...] = ()
    signature: str = ""  # what failures of one cause share (an exception and where, a component, an IQ kind)
    direct: bool = False  # the case's own answer showed it (its IQ, its HTTP response): no replay needed
    trigger: bool = False  # the case showed it, but what an earlier input left behind may be the cause

    def key(self) -> tuple[str, object]:
        return self.kind, (self.case.index if self.case is not None else self.batch)


@dataclass
class Report:
    boundary: str
    module: str  # the test file, for the reproduce command
    seed: int = SEED
    inputs: int = 0
    failures: list[Failure] = field(default_factory=list)
    isolations: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def add(self, failure: Failure) -> None:
        if failure.key() not in {f.key() for f in self.failures}:
            self.failures.append(failure)

    def count(self, kind: str) -> int:
        return len({f.key() for f in self.failures if f.kind == kind})

    def summary(self) -> str:
        other = len({f.key() for f in self.failures if f.kind not in KINDS})
        return (f"fuzz {self.boundary}: seed={self.seed} inputs={self.inputs} crashes={self.count('crash')} "
                f"unanswered_iqs={self.count('unanswered_iq')} cut_streams={self.count('cut_stream')} "
                f"lost_messages={self.count('lost_message')} other={other} "
                f"({self.seconds:.1f} s, {self.isolations} batch(es) isolated)")

    def reproduce(self, indices: Sequence[int]) -> str:
        return f"FUZZ_SEED={self.seed} FUZZ_CASES={compress(indices)} .venv/bin/pytest -s {self.module}"

    def describe(self, failure: Failure) -> str:
        if failure.case is not None:
            case = failure.case
            return (f"{failure.kind}: case {case.index} [{case.label}] {case.short()}\n    -> {failure.detail}\n"
                    f"    reproduce: {self.reproduce(failure.batch or [case.index])}")
        span = f"{failure.batch[0]}-{failure.batch[-1]}" if failure.batch else "?"
        return (f"{failure.kind}: batch {span} (no single case reproduced it)\n    -> {failure.detail}\n"
                f"    reproduce: {self.reproduce(failure.batch)}")

    def distinct(self) -> list[tuple[str, str, list[Failure]]]:
        """(kind, signature, failures) per distinct failure, in the order first seen."""
        groups: dict[tuple[str, str], list[Failure]] = {}
        for failure in self.failures:
            groups.setdefault((failure.kind, failure.signature or failure.detail[:120]), []).append(failure)
        return [(kind, signature, found) for (kind, signature), found in groups.items()]

    def failure_text(self, limit: int = 40, header: bool = True) -> str:
        lines = [self.summary()] if header else []
        lines.append(f"distinct failures of fuzz {self.boundary} (kind, cause: inputs, first input):")
        for kind, signature, found in self.distinct():
            first = next((f for f in found if f.case is not None), found[0])
            where = f"case {first.case.index}" if first.case is not None else "a batch"
            lines.append(f"  {kind}: {signature} -- {len(found)} input(s), first {where}; "
                         f"{self.reproduce(first.batch or [first.case.index] if first.case else first.batch)}")
        lines.append("each failure:")
        lines += [self.describe(f) for f in self.failures[:limit]]
        if len(self.failures) > limit:
            lines.append(f"... and {len(self.failures) - limit} more")
        return "\n".join(lines)


# -- the gateway's log ----------------------------------------------------------------------------------------


@dataclass
class LoggedError:
    logger: str
    message: str
    traceback: str

    @property
    def exception(self) -> str:
        """The traceback's last exception line ("module.Class: message"), or the log message."""
        lines = [line for line in self.traceback.splitlines() if line.strip() and not line[0].isspace()
                 and not line.startswith(("Traceback", "During handling", "The above exception"))]
        return lines[-1] if lines else self.message[:80]

    @property
    def from_http_parser(self) -> bool:
        """aiohttp's own refusal of a malformed request line, header or body encoding (the request was answered
        with a 4xx, and aiohttp logged the parser's exception with a traceback)."""
        return self.exception.startswith(("aiohttp.http_exceptions.", "aiohttp.web_protocol.RequestPayloadError"))

    def signature(self) -> str:
        """The exception and the gateway (or library) line that raised it: what one cause's tracebacks share."""
        last = self.exception
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', self.traceback)
        ours = [f for f in frames if "/gateway/" in f[0] and "site-packages" not in f[0]]
        frame = (ours or frames or [("?", "?", "?")])[-1]
        path = frame[0].split("/gateway/", 1)[-1] if "/gateway/" in frame[0] else frame[0].rsplit("/", 1)[-1]
        return f"{last[:120]} at {path}:{frame[1]} ({frame[2]})"

    def line(self) -> str:
        last = self.exception
        where = [line.strip() for line in self.traceback.splitlines() if line.strip().startswith('File "')]
        origin = where[-1][:160] if where else ""
        message = " ".join(self.message.split())
        return f"{self.logger}: {message[:160]} | {last[:200]} | at {origin}"


class LogWatch(logging.Handler):
    """Keeps every ERROR record that carries a traceback (an exception nobody expected) while not paused."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[LoggedError] = []
        self.paused = False
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        if self.paused or not record.exc_info or record.exc_info[0] is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is worth seeing too
            message = str(record.msg)
        self.records.append(LoggedError(record.name, message, self._formatter.formatException(record.exc_info)))

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int) -> list[LoggedError]:
        return self.records[mark:]

    def install(self) -> None:
        root = logging.getLogger()
        root.addHandler(self)
        if root.level > logging.ERROR or root.level == logging.NOTSET:
            root.setLevel(logging.WARNING)

    def remove(self) -> None:
        logging.getLogger().removeHandler(self)


# -- the engine -----------------------------------------------------------------------------------------------

EXPLAIN_WINDOW = 500  # inputs before a trigger that are searched for its cause
EXPLAIN_PER_CAUSE = 1  # triggers of one signature traced back (each costs a bisection)

class Boundary(Protocol):
    async def send(self, case: Case) -> None: ...

    async def replay(self, case: Case) -> None:
        """Send a case again while looking for what an earlier input left behind (quick: no waiting for answers)."""

    async def check(self, cases: Sequence[Case], liveness: bool) -> list[Failure]:
        """What went wrong with these cases; the liveness probes run only if `liveness`."""

    async def reset(self) -> None: ...

    def stop_failures(self) -> list[Failure]:
        """Failures of the last stops of the gateway (one that hangs), taken once."""


@dataclass
class Engine:
    """Batches, checks, and isolation within a time budget (beyond it, failing batches are reported whole)."""

    boundary: Boundary
    report: Report
    batch_size: int
    isolate_budget: float  # seconds spent replaying batches one case at a time, at most
    after_batch: Callable[[int, list[Case]], Awaitable[None]] | None = None
    spent: float = 0.0
    history: list[Case] = field(default_factory=list)  # what the running gateway has been sent since its start
    explained: dict[str, int] = field(default_factory=dict)  # signature -> triggers traced back to their cause

    timings: dict[str, float] = field(default_factory=lambda: {"send": 0.0, "check": 0.0, "isolate": 0.0,
                                                                "after batch": 0.0})

    async def run(self, cases: Sequence[Case]) -> None:
        try:
            for number, start in enumerate(range(0, len(cases), self.batch_size)):
                batch = list(cases[start : start + self.batch_size])
                await self.run_batch(batch)
                if self.after_batch is not None:
                    began = time.monotonic()
                    await self.after_batch(number, batch)
                    self.timings["after batch"] += time.monotonic() - began
        finally:
            self.report.notes.append("seconds spent: " + ", ".join(f"{name} {spent:.1f}"
                                                                   for name, spent in self.timings.items()))

    async def run_batch(self, batch: list[Case]) -> None:
        failures: list[Failure] = []
        began = time.monotonic()
        for case in batch:
            try:
                await self.boundary.send(case)
            except Exception as exc:  # the boundary could not even send: the target is gone
                failures.append(Failure("crash", f"sending failed: {type(exc).__name__}: {exc}", case))
        self.history += batch
        self.report.inputs += len(batch)
        sent = time.monotonic()
        self.timings["send"] += sent - began
        failures += await self.boundary.check(batch, True)
        self.timings["check"] += time.monotonic() - sent
        if not failures:
            return
        if all(f.direct and f.case is not None for f in failures):
            explained = False
            for failure in failures:
                explained = await self.record(failure) or explained
            if explained:
                await self.reset()
            return
        await self.isolate(batch, failures)

    async def reset(self) -> None:
        sent, self.history = self.history, []
        await self.boundary.reset()
        for failure in self.boundary.stop_failures():  # what the gateway was sent since its start led to it
            failure.batch = tuple(case.index for case in sent)
            failure.detail += f", after {len(sent)} input(s) since it started"
            self.report.add(failure)

    async def record(self, failure: Failure) -> bool:
        """Add a failure to the report, a trigger traced back to its cause first (once per signature, within
        the budget); True if the gateway was replayed for it (it then needs a reset)."""
        key = failure.signature or failure.kind
        if not failure.trigger or failure.case is None or self.explained.get(key, 0) >= EXPLAIN_PER_CAUSE \
                or self.spent >= self.isolate_budget:
            self.report.add(failure)
            return False
        self.explained[key] = self.explained.get(key, 0) + 1
        started = time.monotonic()
        try:
            await self.explain(failure)
        finally:
            self.spent += time.monotonic() - started
            self.timings["isolate"] += time.monotonic() - started
        self.report.add(failure)
        return True

    async def _fails_after(self, failure: Failure, before: list[Case]) -> bool:
        """Whether `failure`'s case fails the same way on a fresh gateway that was sent `before` first."""
        assert failure.case is not None
        await self.reset()
        for case in before:
            self.history.append(case)
            with contextlib.suppress(Exception):
                await self.boundary.replay(case)
        self.history.append(failure.case)
        try:
            await self.boundary.send(failure.case)
            found = await self.boundary.check([failure.case], False)
        except Exception:
            return False
        return any(f.kind == failure.kind for f in found)

    async def explain(self, failure: Failure) -> None:
        """Bisect what the gateway was sent before the failing case (at most EXPLAIN_WINDOW inputs) down to the
        input without which it does not fail; the failure then names it (and the reproduce command both)."""
        trigger = failure.case
        assert trigger is not None
        position = next((i for i, case in enumerate(self.history) if case.index == trigger.index),
                        len(self.history))
        window = self.history[max(0, position - EXPLAIN_WINDOW):position]
        if await self._fails_after(failure, []):
            failure.detail += " (the case alone does it)"
            return
        if not window or not await self._fails_after(failure, window):
            failure.detail += f" (not again when replayed after the {len(window)} inputs before it)"
            return
        deadline = time.monotonic() + self.isolate_budget - self.spent  # `spent` is brought up to date after
        while len(window) > 1 and time.monotonic() < deadline:
            half = len(window) // 2
            if await self._fails_after(failure, window[:half]):
                window = window[:half]
            elif await self._fails_after(failure, window[half:]):
                window = window[half:]
            else:
                break  # it takes inputs from both halves
        failure.batch = (*(case.index for case in window), trigger.index)
        if len(window) == 1:
            failure.detail += f" -- only after case {window[0].index} [{window[0].label}] {window[0].short(160)}"
        else:
            failure.detail += f" -- only after {len(window)} earlier inputs ({window[0].index}..{window[-1].index})"

    async def isolate(self, batch: list[Case], failures: list[Failure]) -> None:
        indices = tuple(case.index for case in batch)
        if self.spent >= self.isolate_budget:
            # Without a replay, even a case's own failure (its IQ unanswered) may follow from another's (a cut
            # stream): the whole batch is reported.
            for failure in failures:
                self.report.add(Failure(failure.kind, failure.detail + " (not isolated: budget spent)", None,
                                        indices, failure.signature))
            await self.reset()
            return
        self.report.isolations += 1
        started = time.monotonic()
        found = False
        try:
            await self.reset()
            # After each case: its own answers, streams and tracebacks; the liveness probes only when the batch
            # lost a message (they are most of a check's time, and a cut stream or a traceback shows without them).
            probe = any(failure.kind == "lost_message" for failure in failures)
            for case in batch:
                try:
                    self.history.append(case)
                    await self.boundary.send(case)
                    found_here = await self.boundary.check([case], probe)
                except Exception as exc:
                    found_here = [Failure("crash", f"sending failed: {type(exc).__name__}: {exc}", case)]
                for failure in found_here:
                    failure.case = failure.case or case
                    await self.record(failure)
                if found_here:
                    found = True
                    await self.reset()
        finally:
            self.spent += time.monotonic() - started
            self.timings["isolate"] += time.monotonic() - started
        if not found:
            for failure in failures:
                self.report.add(Failure(failure.kind, failure.detail + " (the batch failed; no case alone did)",
                                        None, indices, failure.signature))
