"""SendOrder: the messages of one user to one room leave in arrival order while their journal writes overlap."""

from __future__ import annotations

import asyncio

from gateway.xmpp.muc import SendOrder

KEY = ("alice@example.org", "#room%net@irc.example.org")


async def _message(order: SendOrder, name: str, journaled: asyncio.Event, refused: bool, sent: list[str]) -> None:
    previous, turn = order.take(KEY)
    try:
        await journaled.wait()  # the journal write, which may end in any order
        if refused:
            return
        if previous is not None:
            await asyncio.shield(previous)
        sent.append(name)
    finally:
        order.release(KEY, previous, turn)


async def test_later_journal_writes_wait_for_the_earlier_sends() -> None:
    order, sent = SendOrder(), []
    events = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(_message(order, f"m{i}", events[i], False, sent)) for i in range(4)]
    for event in reversed(events):  # journaled last-first
        event.set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert sent == ["m0", "m1", "m2", "m3"]


async def test_a_message_refused_early_does_not_let_the_next_overtake() -> None:
    order, sent = SendOrder(), []
    slow, refused, fast = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(_message(order, "m0", slow, False, sent)),
             asyncio.create_task(_message(order, "m1", refused, True, sent)),
             asyncio.create_task(_message(order, "m2", fast, False, sent))]
    refused.set()
    fast.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == []  # m2 waits for m0 although m1, before it, is done
    slow.set()
    await asyncio.gather(*tasks)
    assert sent == ["m0", "m2"]


async def test_a_key_is_forgotten_once_its_last_turn_is_done() -> None:
    order, sent = SendOrder(), []
    await _message(order, "m0", _set(), False, sent)
    previous, turn = order.take(KEY)
    assert previous is None
    order.release(KEY, previous, turn)


def _set() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event
