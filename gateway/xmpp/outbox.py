"""Stanzas written to the XMPP server but not yet known to be processed by it.

A component stream has no acknowledgements (no XEP-0198), but the server processes it in order: once it
answers a ping written after some stanzas, it has handled them. Until then a stanza stays here and is
written again, with the same id, after a reconnect (or, from the journal, after a restart).

What a crash repeats is what the server had processed and the journal not yet marked, so that is kept small: at most
`WINDOW` stanzas are on the stream unconfirmed (the rest wait here, as text, unwritten), and pings go out every
PING_INTERVAL, or as soon as a slice of a window was written since the last one, several in flight, so that the
window moves on while the server works through it.

A stanza the server cannot take must not come back forever: when the server closes the stream over what we
wrote (not-well-formed, policy-violation...), every stanza written and not yet confirmed is a suspect. On the
next stream the suspects are written one at a time, each confirmed by a ping before the next, so the one the
server refuses again is known: a stanza the server closed the stream over twice in a row is failed
(`Undeliverable`) and never written a third time; the others go on. A stanza larger than the server takes is
failed at once, unwritten.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.core.events import Undeliverable
from gateway.core.tasks import TaskSet
from gateway.xmpp.wire import wire_size

log = logging.getLogger(__name__)

Write = Callable[[str], None]
Render = Callable[[Any], str]
# True when the server answered (result or error); False when it did not, and the stream is being cut.
Ping = Callable[[], Awaitable[bool]]
STRIKES = 2  # streams closed right after a stanza, in a row, before it is failed


@dataclass(slots=True)
class _Entry:
    seq: int
    text: str
    future: asyncio.Future[None]
    strikes: int = 0


class AckedOutbox:
    # Under load, a ping per round trip would be an IQ every millisecond or two, costing the server about as much
    # as the stanzas it confirms: one per interval covers everything written meanwhile, unless a slice of a window
    # was written since the last one.
    PING_INTERVAL = 0.02
    # Stanzas on the stream and not confirmed: what a crash can repeat (100-200 ms of what Prosody routes here at
    # full load, with the marks that follow), and what the server may still be working through. With fewer the
    # server ran dry whenever the loop was busy for longer than its queue lasted (lags of 25 ms under load). In
    # `make bench` comparisons (medians of 3 rounds), 512 gave the four IRC rows 1.12-1.18x the throughput of 256,
    # and 1024 gave IRC->XMPP with 20 users (a line is 20 stanzas) 1.14x that of 512, the other rows 0.93-1.06x.
    WINDOW = 1024
    # A ping after each slice of 64: when one is answered, the server still has the slices after it to work
    # through while the next one is written. Smaller slices cost more pings: 32 made the 20-user rows slower.
    SLICES = 16
    MAX_PINGS = 20  # in flight at once

    def __init__(self, write: Write, ping: Ping, render: Render = str, max_size: int = 256 * 1024) -> None:
        self._write = write
        self._ping = ping
        self._render = render
        self._max_size = max_size
        self._written: deque[_Entry] = deque()  # on the current stream, not confirmed, in order
        self._waiting: deque[_Entry] = deque()  # not written on the current stream, in order
        self._seq = 0
        self._connected = False
        self._probing = False  # suspects are being written one at a time (see the module docstring)
        self._prober: asyncio.Task[None] | None = None
        self._pings = TaskSet(log)
        self._ping_due = False  # a ping task that has not started yet: it will cover what is written until then
        self._timer: asyncio.TimerHandle | None = None
        self._last_ping = -1e9  # loop time the last ping was written
        self._uncovered = 0  # stanzas written since the last ping
        # Stanzas written in this turn of the loop, written out together (see _out).
        self._text: list[str] = []
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._written) + len(self._waiting)

    @property
    def unconfirmed(self) -> int:
        """Stanzas on the stream that no answered ping covers yet (at most WINDOW)."""
        return len(self._written)

    def send(self, stanza: Any) -> asyncio.Future[None]:
        """Write `stanza` (an object or its text); the future resolves once the server has processed it, or fails
        with Undeliverable."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        text = self._render(stanza)
        # A character takes at most 4 bytes: most stanzas need no encoding to be known small enough.
        if len(text) * 4 > self._max_size and (size := wire_size(text)) > self._max_size:
            reason = f"the stanza is {size} bytes, more than the {self._max_size} the server takes"
            log.warning("not writing a stanza: %s: %.200s", reason, text)
            _fail(future, reason)
            return future
        self._seq += 1
        self._waiting.append(_Entry(self._seq, text, future))
        self._empty.clear()
        if self._connected and not self._probing:
            self._fill()
        return future

    def flush(self) -> None:
        """Write the stanzas held for this turn of the loop now (before anything written after them)."""
        if self._text:
            text, self._text = "".join(self._text), []
            self._write(text)

    def _fill(self) -> None:
        """Write what waits, as far as the window allows, and see that a ping follows it. At most a slice of the
        window goes out before a ping: the pings for the slices before are on their way while the next one is
        written, so the server always has work queued while answers come back."""
        if not self._connected or self._probing:
            return
        written, waiting, slice_ = self._written, self._waiting, max(1, self.WINDOW // self.SLICES)
        while waiting and len(written) < self.WINDOW and self._uncovered < slice_:
            entry = waiting.popleft()
            written.append(entry)
            self._out(entry)
        self._schedule()

    def _out(self, entry: _Entry) -> None:
        # A fan-out writes many stanzas in one turn of the loop: one write of them all saves a queue item in
        # slixmpp and a socket send per stanza.
        if not self._text:
            asyncio.get_running_loop().call_soon(self.flush)
        self._text.append(entry.text)
        self._uncovered += 1

    def connected(self) -> None:
        self._connected = True
        if self._waiting:
            log.info("writing %d unconfirmed stanza(s) again%s", len(self._waiting),
                     ", the suspects one at a time" if self._probing else "")
        if self._probing:
            self._prober = asyncio.create_task(self._probe(), name="outbox-probe")
        else:
            self._fill()

    def disconnected(self, refused: str | None = None) -> None:
        """The stream is gone; `refused` is the server's reason when it closed the stream over what we wrote."""
        self._connected = False
        self._text.clear()  # still pending: connected() writes it again
        self._pings.cancel()
        if self._prober is not None:
            self._prober.cancel()
        self._prober = None
        self._ping_due = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._uncovered = 0
        self._last_ping = -1e9  # the next stream's first ping goes at once
        suspects, self._written = self._written, deque()
        self._waiting.extendleft(reversed(suspects))
        if refused is None:
            return
        failed = False
        for entry in suspects:
            entry.strikes += 1
            if entry.strikes >= STRIKES:
                log.error("the XMPP server closed the stream over this stanza %d times (%s); it is failed and not "
                          "written again: %.300s", entry.strikes, refused, entry.text)
                _fail(entry.future, f"the XMPP server refused it ({refused})")
                failed = True
        if failed:
            self._waiting = deque(entry for entry in self._waiting if not entry.future.done())
        self._probing = any(entry.strikes for entry in self._waiting)
        if not self._waiting:
            self._empty.set()

    async def wait_empty(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def _schedule(self) -> None:
        """A ping for what was written since the last one: at the end of this turn once PING_INTERVAL has passed
        since the last ping or a slice of the window is uncovered, else when the interval is over."""
        if not self._uncovered or self._ping_due or len(self._pings) >= self.MAX_PINGS or not self._connected:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_ping + self.PING_INTERVAL - loop.time()
        if wait <= 0 or self._uncovered >= max(1, self.WINDOW // self.SLICES):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._ping_due = True
            self._pings.spawn(self._ping_written(), name="outbox-ping")
        elif self._timer is None:
            self._timer = loop.call_later(wait, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._schedule()

    async def _ping_written(self) -> None:
        """Ping after everything written so far; once answered, it is confirmed, and more may be written."""
        self._ping_due = False
        if not self._written:
            return
        self.flush()  # the ping must follow what it confirms
        mark = self._written[-1].seq
        self._uncovered = 0
        loop = asyncio.get_running_loop()
        self._last_ping = loop.time()
        # Once the ping is queued (its coroutine queues it before it first waits), the next slice follows it.
        loop.call_soon(self._fill)
        if not await self._ping():
            return  # the stream is being cut: connected() writes everything pending again on the next one
        self._confirm(mark)
        self._fill()

    def _confirm(self, mark: int) -> None:
        written = self._written
        while written and written[0].seq <= mark:
            future = written.popleft().future
            if not future.done():
                future.set_result(None)
        if not written and not self._waiting:
            self._empty.set()

    async def _probe(self) -> None:
        """Write the suspects alone, each confirmed before the next; then everything else as usual."""
        while self._connected and self._waiting and self._waiting[0].strikes:
            entry = self._waiting.popleft()
            self._written.append(entry)
            self._write(entry.text)
            self._last_ping = asyncio.get_running_loop().time()
            if not await self._ping():
                return  # connected() starts over on the next stream
            self._confirm(entry.seq)
        self._prober = None
        self._probing = False
        self._last_ping = -1e9
        if self._connected:
            self._fill()


def _fail(future: asyncio.Future[None], reason: str) -> None:
    future.set_exception(Undeliverable(reason))
    future.exception()  # logged here already: not again as "never retrieved" when nobody waits for it
