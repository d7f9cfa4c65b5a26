"""Stanzas written to the XMPP server but not yet known to be processed by it.

A component stream has no acknowledgements (no XEP-0198), but the server processes it in order: once it
answers a ping written after some stanzas, it has handled them. Until then a stanza stays here and is
written again, with the same id, after a reconnect.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.core.events import Undeliverable
from gateway.xmpp.wire import wire_size

log = logging.getLogger(__name__)

Write = Callable[[str], None]
Render = Callable[[Any], str]
# True when the server answered (result or error); False when it did not, and the stream is being cut.
Ping = Callable[[], Awaitable[bool]]
STRIKES = 2  # streams closed right after a stanza, in a row, before it is failed


@dataclass(slots=True)
class _Entry:
    text: str
    future: asyncio.Future[None]
    written: bool = False  # on the current stream
    strikes: int = 0


class AckedOutbox:
    # Under load, a ping per round trip would be an IQ every millisecond or two, costing the server about as much
    # as the stanzas it confirms: at most one per interval, covering everything written meanwhile.
    PING_INTERVAL = 0.02

    def __init__(self, write: Write, ping: Ping, render: Render = str, max_size: int = 256 * 1024) -> None:
        self._write = write
        self._ping = ping
        self._render = render
        self._max_size = max_size
        self._pending: dict[int, _Entry] = {}
        self._seq = 0
        self._connected = False
        self._probing = False  # suspects are being written one at a time (see the module docstring)
        self._pinger: asyncio.Task[None] | None = None
        # Stanzas written in this turn of the loop, written out together (see _out).
        self._text: list[str] = []
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._pending)

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
        entry = self._pending[self._seq] = _Entry(text, future)
        self._empty.clear()
        if self._connected and not self._probing:
            self._out(entry)
            self._ensure_pinger()
        return future

    def flush(self) -> None:
        """Write the stanzas held for this turn of the loop now (before anything written after them)."""
        if self._text:
            text, self._text = "".join(self._text), []
            self._write(text)

    def _out(self, entry: _Entry) -> None:
        # A fan-out writes many stanzas in one turn of the loop: one write of them all saves a queue item in
        # slixmpp and a socket send per stanza.
        if not self._text:
            asyncio.get_running_loop().call_soon(self.flush)
        self._text.append(entry.text)
        entry.written = True

    def connected(self) -> None:
        self._connected = True
        if self._pending:
            log.info("writing %d unconfirmed stanza(s) again%s", len(self._pending),
                     ", the suspects one at a time" if self._probing else "")
        if not self._probing:
            for entry in self._pending.values():
                self._out(entry)
        self._ensure_pinger()

    def disconnected(self, refused: str | None = None) -> None:
        """The stream is gone; `refused` is the server's reason when it closed the stream over what we wrote."""
        self._connected = False
        self._text.clear()  # still pending: connected() writes it again
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None
        suspects = [(seq, entry) for seq, entry in self._pending.items() if entry.written]
        for _, entry in suspects:
            entry.written = False
        if refused is None:
            return
        for seq, entry in suspects:
            entry.strikes += 1
            if entry.strikes >= STRIKES:
                log.error("the XMPP server closed the stream over this stanza %d times (%s); it is failed and not "
                          "written again: %.300s", entry.strikes, refused, entry.text)
                del self._pending[seq]
                _fail(entry.future, f"the XMPP server refused it ({refused})")
        self._probing = any(entry.strikes for entry in self._pending.values())
        if not self._pending:
            self._empty.set()

    async def wait_empty(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def _ensure_pinger(self) -> None:
        if self._pending and (self._pinger is None or self._pinger.done()):
            self._pinger = asyncio.create_task(self._confirm(), name="outbox-ping")

    async def _confirm(self) -> None:
        # One ping covers every stanza written before it, so under load one round trip confirms many.
        loop = asyncio.get_running_loop()
        while self._pending and self._connected:
            started = loop.time()
            if self._probing:
                mark = self._probe()
            else:
                mark = self._seq
                self.flush()  # the ping must follow what it confirms
            if not await self._ping():
                return  # connected() writes everything pending again on the next stream, then pings
            for seq in [s for s in self._pending if s <= mark]:
                entry = self._pending.pop(seq)
                if not entry.future.done():
                    entry.future.set_result(None)
            if not self._pending:
                self._empty.set()
            elif not self._probing and (rest := self.PING_INTERVAL - (loop.time() - started)) > 0:
                await asyncio.sleep(rest)

    def _probe(self) -> int:
        """Write the oldest suspect alone (or, when none is left, everything pending); the last seq written."""
        seq, entry = next(iter(self._pending.items()))
        if entry.strikes:
            self._write(entry.text)
            entry.written = True
            return seq
        self._probing = False
        for waiting in self._pending.values():
            self._out(waiting)
        self.flush()
        return self._seq


def _fail(future: asyncio.Future[None], reason: str) -> None:
    future.set_exception(Undeliverable(reason))
    future.exception()  # logged here already: not again as "never retrieved" when nobody waits for it
