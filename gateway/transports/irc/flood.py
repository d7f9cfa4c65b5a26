"""Flood control for one IRC connection: a token bucket in front of the socket, with a bounded queue.

Lines leave in the order they were queued, `burst` at once and then `rate` per second. PONG and QUIT bypass the
bucket and the queue (a late PONG costs the connection; a QUIT must not wait behind a backlog). When the queue
cannot take a message, `put` raises `QueueFull` - a Refusal with condition `resource-constraint` - so the sender
learns it; nothing is ever dropped silently. The lines of one message are queued all or none.

The clock and sleep are injectable so tests run in virtual time. Hand-written: the `irc` package has no send
queue or rate limit; the bucket is the shared one (core/pacing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gateway.core.events import Refusal
from gateway.core.pacing import TokenBucket

BYPASS = frozenset({"PONG", "QUIT"})

# Writes lines in one go: what the bucket lets out at once is one write (one system call), not one per line.
Sender = Callable[[list[str]], Awaitable[None] | None]


class QueueFull(Refusal):
    """The connection's send queue is full: the message was not queued."""

    def __init__(self, text: str = "Too many messages are waiting to be sent to IRC; try again in a moment.") -> None:
        super().__init__("resource-constraint", text)


class QueueClosed(ConnectionError):
    """The connection went away before a queued line was sent."""


def command_of(line: str) -> str:
    """The command word of a line we send (tags and a source prefix skipped)."""
    words = line.split(" ")
    while words and (words[0].startswith("@") or words[0].startswith(":")):
        words.pop(0)
    return words[0].upper() if words else ""


class Clock:
    """Real time: monotonic seconds and asyncio.sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class FakeClock(Clock):
    """Virtual time for tests: sleep() advances the clock at once (and yields to other tasks)."""

    time: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(seconds, 0.0)
        await asyncio.sleep(0)


class FloodQueue:
    """A connection's outbound lines: bucket of `burst` tokens refilled at `rate` per second, `size` lines queued.

    One per connection, mostly idle: the task that empties the queue runs only while lines wait (started by `put`
    once `start` was called), and the deque is made on first use.
    """

    __slots__ = ("_bucket", "_queue", "_send", "_started", "_task", "clock", "size")

    def __init__(self, send: Sender, *, burst: int, rate: float, size: int, clock: Clock | None = None) -> None:
        if burst < 1 or rate <= 0 or size < 1:
            raise ValueError("burst and size must be at least 1 and rate above 0")
        self._send = send
        self.size = size
        self.clock = clock or Clock()
        self._bucket = TokenBucket(rate, burst, self.clock.now)
        self._queue: deque[tuple[str, asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = False

    def __len__(self) -> int:
        return len(self._queue) if self._queue is not None else 0

    @property
    def free(self) -> int:
        return self.size - len(self)

    def start(self) -> None:
        """Send what is queued and what comes next (call within the running loop)."""
        self._started = True
        self._wake()

    def _wake(self) -> None:
        if self._started and self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run(), name="irc-flood-queue")

    async def stop(self, reason: str = "connection closed") -> None:
        """Stop sending; every line still queued fails with QueueClosed."""
        self._started = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.fail_pending(QueueClosed(reason))

    def fail_pending(self, exc: BaseException) -> None:
        while self._queue:
            _, future = self._queue.popleft()
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning if nobody awaits it
        self._queue = None

    def reset(self) -> None:
        """A fresh bucket (after a reconnect the server counts from zero)."""
        self._bucket.reset()

    async def put(self, line: str) -> asyncio.Future[None]:
        """Queue one line; see put_all."""
        return await self.put_all([line])

    async def put_all(self, lines: Iterable[str]) -> asyncio.Future[None]:
        """Queue lines in order, all or none; return a future done when the last one is written.

        PONG and QUIT lines are written at once, ahead of the queue. QueueFull if the rest does not fit.
        """
        lines = list(lines)
        queued = [line for line in lines if command_of(line) not in BYPASS]
        if len(queued) > self.free:
            raise QueueFull()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        bypass = [line for line in lines if command_of(line) in BYPASS]
        if bypass:
            await self._write(bypass)
        if not queued:
            done.set_result(None)
            return done
        if self._queue is None:
            self._queue = deque()
        for index, line in enumerate(queued):
            future = done if index == len(queued) - 1 else loop.create_future()
            self._queue.append((line, future))
        self._wake()
        return done

    async def send_now(self, line: str) -> None:
        """Write a line at once, bypassing bucket and queue (PONG, QUIT)."""
        await self._write([line])

    async def join(self) -> None:
        """Wait until every queued line has been written (or failed)."""
        while self._task is not None and not self._task.done():  # it ends when the queue is empty
            await asyncio.wait([self._task])

    async def _write(self, lines: list[str]) -> None:
        result = self._send(lines)
        if inspect.isawaitable(result):
            await result

    async def _run(self) -> None:
        while self._queue:
            queue = self._queue
            count = self._bucket.take_up_to(len(queue))
            if not count:
                await self.clock.sleep(self._bucket.wait())
                continue
            batch = [queue.popleft() for _ in range(count)]
            try:
                await self._write([line for line, _ in batch])
            except Exception as exc:  # the socket failed: these lines and the rest cannot go
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()
                self.fail_pending(QueueClosed(f"sending failed: {exc}"))
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        self._queue = self._task = None  # idle: nothing kept until the next line
