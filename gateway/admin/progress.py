"""A progress bar for long CLI operations, drawn on stderr: redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """Call it as `bar(label, done, total)` as often as you like; it redraws at most every `interval` seconds.

    On a terminal one line is redrawn in place (carriage return) and ended when `done == total`. Elsewhere (a log
    file, a pipe) it writes a plain line when a phase ends and, for phases of `steps_from` items or more, one at
    every tenth of the way, so a log shows that something is happening without thousands of lines.
    """

    def __init__(self, out: TextIO, interactive: bool | None = None, width: int = 30, interval: float = 0.1,
                 steps_from: int = 1000) -> None:
        self._out = out
        self._interactive = _isatty(out) if interactive is None else interactive
        self._width = width
        self._interval = interval
        self._steps_from = steps_from
        self._drawn_at: float | None = None  # the first call always draws
        self._tenths: dict[str, int] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        finished = done >= total
        if self._interactive:
            now = time.monotonic()
            if not finished and self._drawn_at is not None and now - self._drawn_at < self._interval:
                return
            self._drawn_at = now
            share = done / total if total else 1.0
            filled = round(self._width * share)
            bar = "#" * filled + "-" * (self._width - filled)
            self._out.write(f"\r{label} [{bar}] {share:4.0%} {done}/{total}" + ("\n" if finished else ""))
            self._out.flush()
            return
        tenth = 10 * done // total if total else 10
        if finished:
            self._out.write(f"{label}: {done}/{total}\n")
        elif total >= self._steps_from and tenth > self._tenths.get(label, 0):
            self._out.write(f"{label}: {done}/{total} ({tenth * 10}%)\n")
        else:
            return
        self._tenths[label] = tenth
        self._out.flush()


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
