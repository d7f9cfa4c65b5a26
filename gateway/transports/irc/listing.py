"""The network's channel list (LIST), read once in a while and served in pages (XEP-0059 style, by folded name)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from gateway.transports.irc.errors import NotConnected, disconnected
from gateway.transports.irc.replies import Reply
from gateway.transports.irc.wire import Line

if TYPE_CHECKING:
    from gateway.transports.irc.connection import IrcConnection

LIST_TIMEOUT = 60.0


@dataclass(frozen=True)
class ChannelListing:
    name: str
    users: int
    topic: str


@dataclass(frozen=True)
class ChannelPage:
    """One page of a LIST, ordered by folded channel name (stable for `after` paging, XEP-0059 style)."""

    items: tuple[ChannelListing, ...]
    total: int
    first: str | None
    last: str | None


LISTED: Reply[list[ChannelListing]] = Reply("list", lambda _key, reason: NotConnected(disconnected(reason)))


class ChannelList:
    """One connection's LIST: the listing being read and the last one read, with the time it was."""

    __slots__ = ("_cache", "_conn", "_items")

    def __init__(self, conn: IrcConnection) -> None:
        self._conn = conn
        self._items: list[ChannelListing] = []
        self._cache: tuple[float, list[ChannelListing]] | None = None

    async def page(self, after: str | None, limit: int) -> ChannelPage:
        conn = self._conn
        fold = conn.server.fold
        if self._cache is not None and time.monotonic() - self._cache[0] < conn.list_cache_seconds:
            items = self._cache[1]
        else:

            async def send() -> None:
                self._items = []
                await conn._queue.put("LIST")

            try:
                items = await conn._replies.request(LISTED, send, LIST_TIMEOUT)
            except TimeoutError:
                raise NotConnected(f"{conn.network.name} did not finish the channel list.") from None
            items = sorted(items, key=lambda item: fold(item.name))
            self._cache = (time.monotonic(), items)
        start = 0
        if after is not None:
            folded = fold(after)
            start = next((i for i, item in enumerate(items) if fold(item.name) > folded), len(items))
        page = tuple(items[start : start + max(1, limit)])
        return ChannelPage(page, len(items), page[0].name if page else None, page[-1].name if page else None)

    async def on_322(self, line: Line) -> None:  # RPL_LIST
        users = line.param(2)
        self._items.append(ChannelListing(line.param(1), int(users) if users.isdigit() else 0, line.param(3)))

    async def on_323(self, line: Line) -> None:  # RPL_LISTEND
        self._conn._replies.resolve(LISTED, self._items)
        self._items = []

    async def on_263(self, line: Line) -> None:  # RPL_TRYAGAIN
        self._conn._replies.fail(LISTED, NotConnected(f"{self._conn.network.name}: {line.param(-1)}"))

    HANDLERS: ClassVar[dict[str, Callable[[ChannelList, Line], Awaitable[None]]]] = {
        "322": on_322,
        "323": on_323,
        "263": on_263,
    }
