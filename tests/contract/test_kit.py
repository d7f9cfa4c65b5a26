"""The kit's own checks: the walk that finds what is left of a user, and what counts as a readable text."""

from __future__ import annotations

import asyncio
import functools

from tests.contract.kit import leftovers, readable

JID = "alice@example.org"


class _Slotted:
    __slots__ = ("owner",)

    def __init__(self, owner: str) -> None:
        self.owner = owner


class _Holder:
    def __init__(self) -> None:
        self.by_user: dict[tuple[str, str], int] = {}
        self.items: list[object] = []
        self.callback: object = None


def test_the_walk_finds_a_user_wherever_it_is_kept() -> None:
    holder = _Holder()
    assert leftovers(holder, JID) == []
    holder.by_user[(JID, "libera")] = 1
    assert leftovers(holder, JID) == [".by_user[('alice@example.org', 'libera')] (key)[0]"]
    holder.by_user.clear()
    holder.items.append(_Slotted(f"{JID}/phone"))
    assert leftovers(holder, JID) == [".items[0].owner"]
    holder.items.clear()
    holder.callback = functools.partial(print, JID)
    assert leftovers(holder, JID) == [".callback.args[0]"]
    user = JID
    holder.callback = lambda: user
    assert leftovers(holder, JID) == [".callback<closure>"]


def test_the_walk_skips_what_is_shared_and_survives_cycles() -> None:
    holder, shared = _Holder(), _Holder()
    shared.items.append(JID)
    holder.items.extend([shared, holder])
    assert leftovers(holder, JID) == [".items[0].items[0]"]
    assert leftovers(holder, JID, skip=[shared]) == []


async def test_the_walk_looks_into_a_waiting_task() -> None:
    async def timer(owner: str) -> None:
        await asyncio.sleep(60)

    holder = _Holder()
    holder.items.append(asyncio.create_task(timer(JID), name="timer"))
    await asyncio.sleep(0)
    try:
        assert leftovers(holder, JID) == [".items[0]<task><frame>['owner']"]
    finally:
        holder.items[0].cancel()  # type: ignore[attr-defined]


def test_readable_texts() -> None:
    assert readable("'1234' is no pager number (p and 2 to 8 digits, e.g. p1234).")
    assert not readable("")
    assert not readable("jid-malformed")
    assert not readable("ValueError('bad number')")
    assert not readable("Traceback (most recent call last): ...")
