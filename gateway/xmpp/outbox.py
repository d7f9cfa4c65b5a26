"""Stanzas written to the XMPP server but not yet known to be processed by it.

A component stream has no acknowledgements (no XEP-0198), but the server processes it in order: once it
answers a ping written after some stanzas, it has handled them. Until then a stanza stays here and is
written again, with the same id, after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Write = Callable[[Any], None]
# True when the server answered (result or error); False when it did not, and the stream is being cut.
Ping = Callable[[], Awaitable[bool]]


class AckedOutbox:
    # Under load, a ping per round trip would be an IQ every millisecond or two, costing the server about as much
    # as the stanzas it confirms: at most one per interval, covering everything written meanwhile.
    PING_INTERVAL = 0.02

    def __init__(self, write: Write, ping: Ping) -> None:
        self._write = write
        self._ping = ping
        self._pending: dict[int, tuple[Any, asyncio.Future[None]]] = {}
        self._seq = 0
        self._connected = False
        self._pinger: asyncio.Task[None] | None = None
        # Stanzas written as text in this turn of the loop, written out together (see _out).
        self._text: list[str] = []
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._pending)

    def send(self, stanza: Any) -> asyncio.Future[None]:
        self._seq += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[self._seq] = (stanza, future)
        self._empty.clear()
        if self._connected:
            self._out(stanza)
            self._ensure_pinger()
        return future

    def flush(self) -> None:
        """Write the text stanzas held for this turn of the loop now (before anything written after them)."""
        if self._text:
            text, self._text = "".join(self._text), []
            self._write(text)

    def _out(self, stanza: Any) -> None:
        # A fan-out writes many stanzas in one turn of the loop: one write of them all saves a queue item in
        # slixmpp and a socket send per stanza. Stanza objects keep their place: the text before them goes first.
        if isinstance(stanza, str):
            if not self._text:
                asyncio.get_running_loop().call_soon(self.flush)
            self._text.append(stanza)
        else:
            self.flush()
            self._write(stanza)

    def connected(self) -> None:
        self._connected = True
        if self._pending:
            log.info("writing %d unconfirmed stanza(s) again", len(self._pending))
        for stanza, _ in self._pending.values():
            self._out(stanza)
        self._ensure_pinger()

    def disconnected(self) -> None:
        self._connected = False
        self._text.clear()  # still pending: connected() writes it again
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

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
            mark = self._seq
            self.flush()  # the ping must follow what it confirms
            if not await self._ping():
                return  # connected() writes everything pending again on the next stream, then pings
            for seq in [s for s in self._pending if s <= mark]:
                _, future = self._pending.pop(seq)
                if not future.done():
                    future.set_result(None)
            if not self._pending:
                self._empty.set()
            elif (rest := self.PING_INTERVAL - (loop.time() - started)) > 0:
                await asyncio.sleep(rest)
