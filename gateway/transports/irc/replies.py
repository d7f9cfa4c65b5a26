"""Requests that wait for the server's answer: registration, a JOIN for its NAMES, a PART, a NICK, NickServ, LIST.

A waiter is keyed by what answers it: the kind of reply and, for kinds that can be pending for several names at
once, the folded name it concerns. There is one waiter per key, so a second request for the same thing shares the
first one's answer instead of sending the request again. A waiter leaves the registry when it is answered, fails
or times out (for everyone who shares it), and when the link drops every waiter fails at once with its kind's
error: no request can wait for an answer that will not come, and no handler has to clean up after one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Reply(Generic[T]):
    """A kind of answer (T is what its waiters get), and the error they get when the link drops with a reason."""

    __slots__ = ("lost", "name")

    def __init__(self, name: str, lost: Callable[[str, str], Exception]) -> None:
        self.name = name
        self.lost = lost  # (key, reason) -> the exception

    def __repr__(self) -> str:
        return f"Reply({self.name!r})"


class Replies:
    """The waiters of one connection; see the module docstring."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: dict[tuple[Reply[Any], str], asyncio.Future[Any]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def expect(self, reply: Reply[T], key: str = "") -> tuple[asyncio.Future[T], bool]:
        """The waiter for that answer, and whether it is new (then the caller sends the request)."""
        future = self._waiting.get((reply, key))
        if future is not None:
            return cast("asyncio.Future[T]", future), False
        future = self._waiting[reply, key] = asyncio.get_running_loop().create_future()
        return future, True

    def waiting(self, reply: Reply[Any], key: str = "") -> bool:
        return (reply, key) in self._waiting

    def resolve(self, reply: Reply[T], value: T, key: str = "") -> bool:
        """Answer the waiter; False when nobody waited for that."""
        future = self._waiting.pop((reply, key), None)
        if future is None:
            return False
        future.set_result(value)
        return True

    def fail(self, reply: Reply[Any], error: BaseException, key: str = "") -> bool:
        """Fail the waiter with `error`; False when nobody waited for that."""
        future = self._waiting.pop((reply, key), None)
        if future is None:
            return False
        future.set_exception(error)
        future.exception()  # retrieved: every sharer may have stopped waiting already
        return True

    async def request(
        self, reply: Reply[T], send: Callable[[], Awaitable[object]], timeout: float, key: str = ""
    ) -> T:
        """`send` the request unless the same one is pending, then its answer as `wait` gives it. A request that
        could not be sent fails its waiter (and whoever shares it) with the same error."""
        future, new = self.expect(reply, key)
        if new:
            try:
                await send()
            except BaseException as exc:
                self.fail(reply, exc if isinstance(exc, Exception) else ConnectionError("request not sent"), key)
                raise
        return await self.wait(reply, future, timeout, key)

    async def wait(self, reply: Reply[T], future: asyncio.Future[T], timeout: float, key: str = "") -> T:
        """The answer within `timeout` seconds, else TimeoutError (for every sharer of the waiter)."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            if self._waiting.get((reply, key)) is future:
                self.fail(reply, TimeoutError(), key)
            raise

    def fail_all(self, reason: str) -> None:
        """The link dropped: every waiter fails with its kind's error."""
        waiting, self._waiting = self._waiting, {}
        for (reply, key), future in waiting.items():
            future.set_exception(reply.lost(key, reason))
            future.exception()
