"""The per-number outbox: a token bucket per key (core/pacing.py), one worker per key sending in order."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.transports.sms.outbox import Outbox


async def test_items_of_one_key_go_one_at_a_time_in_order() -> None:
    sent: list[str] = []
    running = 0

    async def send(item: str) -> None:
        nonlocal running
        running += 1
        assert running == 1  # never two of one key at once
        await asyncio.sleep(0.001)
        sent.append(item)
        running -= 1

    outbox: Outbox[str] = Outbox(1000.0, 1, send)
    for n in range(20):
        outbox.put("+1", f"m{n}")
    await outbox.join()
    assert sent == [f"m{n}" for n in range(20)]
    await outbox.close()


async def test_pace_spaces_requests_per_key_and_keys_do_not_wait_for_each_other() -> None:
    stamps: dict[str, list[float]] = {"+1": [], "+2": []}
    outbox: Outbox[tuple[str, int]] = Outbox(20.0, 1, lambda item: _paced(outbox, stamps, item))
    for n in range(4):
        outbox.put("+1", ("+1", n))
        outbox.put("+2", ("+2", n))
    started = time.monotonic()
    await outbox.join()
    elapsed = time.monotonic() - started
    for times in stamps.values():
        # 20 per second: the k-th request no sooner than k/20 s after the first. (One gap may be shorter when the
        # loop woke the one before it late: the bucket keeps the schedule, not the gaps.)
        assert all(t - times[0] >= k * 0.05 - 0.005 for k, t in enumerate(times)), times
    assert elapsed < 0.3  # the two numbers were paced side by side, not one after the other
    await outbox.close()


async def _paced(outbox: Outbox[tuple[str, int]], stamps: dict[str, list[float]], item: tuple[str, int]) -> None:
    await outbox.pace(item[0])
    stamps[item[0]].append(time.monotonic())


async def test_a_failing_send_does_not_stop_the_queue() -> None:
    sent: list[int] = []

    async def send(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        sent.append(item)

    outbox: Outbox[int] = Outbox(1000.0, 10, send)
    for n in range(3):
        outbox.put("+1", n)
    await outbox.join()
    assert sent == [0, 2]
    await outbox.close()


async def test_close_stops_sending_and_leaves_the_rest() -> None:
    sent: list[int] = []
    outbox: Outbox[int] = Outbox(1000.0, 1, lambda item: _slow(sent, item))
    for n in range(5):
        outbox.put("+1", n)
    await asyncio.sleep(0.03)
    await outbox.close()
    count = len(sent)
    assert 0 < count < 5
    await asyncio.sleep(0.05)
    assert len(sent) == count  # nothing after close: the journal keeps the rest for the next start


async def _slow(sent: list[int], item: int) -> None:
    await asyncio.sleep(0.02)
    sent.append(item)


async def test_nothing_is_queued_after_close() -> None:
    outbox: Outbox[int] = Outbox(1000.0, 1, lambda item: _slow([], item))
    await outbox.close()
    assert outbox.closed
    with pytest.raises(RuntimeError):
        outbox.put("+1", 1)  # a late put would start a worker whose HTTP client is already closed


async def test_an_idle_number_holds_nothing_once_its_bucket_is_full_and_keeps_its_pace_until_then() -> None:
    stamps: dict[str, list[float]] = {"+1": []}
    outbox: Outbox[tuple[str, int]] = Outbox(10.0, 1, lambda item: _paced(outbox, stamps, item))
    outbox.put("+1", ("+1", 0))
    await outbox.join()
    assert outbox.holding() == {"+1"}  # its bucket is empty: a text now still waits its turn
    outbox.put("+1", ("+1", 1))
    await outbox.join()
    assert stamps["+1"][1] - stamps["+1"][0] >= 0.1 - 0.005
    await asyncio.sleep(0.15)  # a token a tenth of a second: full again
    assert outbox.holding() == set()
    outbox.put("+1", ("+1", 2))  # and the next text goes at once, on a new queue
    await outbox.join()
    assert len(stamps["+1"]) == 3
    await outbox.close()
