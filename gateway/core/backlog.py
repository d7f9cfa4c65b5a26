"""How many journaled room messages one transport has handed to the XMPP side without confirmation, and what it left
in the journal meanwhile.

A channel flood arrives faster than the XMPP server takes it (Prosody routes a few thousand stanzas a second, and
buffers for a client that does not read). Every message is journaled first, so the backlog need not wait in memory:
past LIMIT handed messages, later ones stay pending in the journal, and are read back from it in order, SLICE at a
time, as the server confirms the earlier ones. The gateway's memory during a flood is then bounded by LIMIT, not by
the flood (and what a burst leaves behind in the allocator with it). Room events (a part, a nick change, a topic) are
not held back with them: past the limit, one may be shown before lines said before it.

What cannot wait in the journal is what is not journaled yet: lines read from IRC are held until their round is
written (reading IRC more slowly is no way out: a server cuts a client whose unread output grows, ngircd at 32 KiB).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from gateway.core.events import InboundMessage

log = logging.getLogger(__name__)

# (after journal id, at most) -> the pending inbound messages of the transport above that id, in id order
ReadPending = Callable[[int, int], Awaitable[Sequence[InboundMessage]]]
Hand = Callable[[InboundMessage], None]  # renders a message read back (counted: see RoomBacklog.handed)


class RoomBacklog:
    LIMIT = 4096  # room messages (a line in a room of 20 users is 20) handed and not yet confirmed
    SLICE = 256  # read back at a time, once that many places are free (as many as a round of live ones)
    RETRY = 1.0  # seconds before a failed read is tried again

    def __init__(self, read: ReadPending, hand: Hand) -> None:
        self._read = read
        self._hand = hand
        self.handed = 0
        self.left_from: int | None = None  # the first journal id left in the journal; None: nothing left
        self._left_since_read = False  # left while a read was under way: the read may not have seen it
        self._reader: asyncio.Task[None] | None = None
        self.stopped = False

    def admit(self, message: InboundMessage) -> bool:
        """True: hand `message` over now (it counts until `settled`); False: it stays pending in the journal."""
        if self.left_from is None and self.handed < self.LIMIT:
            self.handed += 1
            return True
        if self.left_from is None:
            assert message.journal_id is not None
            self.left_from = message.journal_id
        self._left_since_read = True
        return False

    def settled(self) -> None:
        """A message handed over was confirmed, failed or found nobody: its place is free."""
        self.handed -= 1
        if self.left_from is not None and self._reader is None and not self.stopped \
                and self.handed <= self.LIMIT - self.SLICE:
            self._reader = asyncio.get_running_loop().create_task(self._read_back(), name="room-backlog")

    async def wait(self) -> None:
        """Until a read under way is done (stopping: what is left stays pending for the next start)."""
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read_back(self) -> None:
        try:
            while self.left_from is not None and not self.stopped and self.handed <= self.LIMIT - self.SLICE:
                self._left_since_read = False
                try:
                    pending = await self._read(self.left_from - 1, self.SLICE)
                except Exception as error:
                    log.error("cannot read back journaled room messages (%s); trying again in %g s", error,
                              self.RETRY)
                    await asyncio.sleep(self.RETRY)
                    continue
                # Only room messages were left here; a pending chat above the mark is on its own way.
                for message in pending:
                    if message.room_nick is not None:
                        self.handed += 1
                        self._hand(message)
                if pending:
                    last = pending[-1].journal_id
                    assert last is not None
                    self.left_from = last + 1
                if len(pending) < self.SLICE and not self._left_since_read:
                    self.left_from = None  # caught up: live messages go straight on again
        finally:
            self._reader = None
