"""Per-number send queues, in order and at a steady rate (a token bucket per sending number).

The durable part of the outbox is the journal: a message is journaled before it is queued here, and the
router hands every unsent one back after a restart. This module only keeps the order and the pace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from gateway.core.pacing import TokenBucket

log = logging.getLogger(__name__)

T = TypeVar("T")


class Outbox(Generic[T]):
    """One queue and one token bucket per key (a sending number); items of a key are sent one at a time, in order.

    `send` paces itself: it calls `pace(key)` right before each request it makes (a long text in parts makes
    several), so that the provider sees the configured rate, whatever the work before each request costs.
    A key's queue, worker and bucket live while it has texts to send and until its bucket is full again (a new one
    is then the same): a number that has sent holds nothing here once it is idle.
    """

    def __init__(self, rate: float, burst: int, send: Callable[[T], Awaitable[None]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._send = send
        self._clock = clock
        self._queues: dict[str, asyncio.Queue[T]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.closed = False

    def put(self, key: str, item: T) -> None:
        if self.closed:
            raise RuntimeError("the outbox is closed")
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.create_task(self._work(key, queue), name=f"sms-outbox-{key}")
        queue.put_nowait(item)

    def pending(self) -> int:
        return sum(q.qsize() for q in self._queues.values())

    def holding(self) -> set[str]:
        """The keys this outbox holds anything for."""
        return set(self._queues) | set(self._buckets)

    async def join(self) -> None:
        await asyncio.gather(*(q.join() for q in list(self._queues.values())))

    async def pace(self, key: str) -> None:
        """Wait for a token of `key`'s bucket."""
        wait = self._bucket(key).reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
        return bucket

    async def close(self) -> None:
        """Stop sending; what is still queued stays in the journal for the next start."""
        self.closed = True
        for worker in self._workers.values():
            worker.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()
        self._queues.clear()
        self._buckets.clear()

    async def _work(self, key: str, queue: asyncio.Queue[T]) -> None:
        try:
            while True:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    try:  # idle: wait for more while the bucket still remembers recent sends
                        item = await asyncio.wait_for(queue.get(), self._bucket(key).until_full())
                    except TimeoutError:
                        if queue.empty():  # (an item that came with the timeout is still in the queue)
                            return
                        continue
                try:
                    await self._send(item)
                except Exception:
                    log.exception("sending an SMS failed unexpectedly; it stays in the journal")
                finally:
                    queue.task_done()
                    del item  # not kept while waiting for the next one: it names its user and holds their text
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key], self._queues[key]
                self._buckets.pop(key, None)
