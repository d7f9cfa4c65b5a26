"""The reply waiters of a connection: one per key, shared, gone once answered, all failed when the link drops."""

from __future__ import annotations

import asyncio

import pytest

from gateway.transports.irc.replies import Replies, Reply

JOINED: Reply[str] = Reply("joined", lambda key, reason: ConnectionError(f"{key}: {reason}"))
LISTED: Reply[list[str]] = Reply("list", lambda _key, reason: ConnectionError(reason))


async def test_a_second_request_for_the_same_answer_shares_the_first_and_sends_nothing() -> None:
    replies = Replies()
    sent: list[str] = []

    async def send() -> None:
        sent.append("JOIN #a")

    first = asyncio.create_task(replies.request(JOINED, send, 5, "#a"))
    second = asyncio.create_task(replies.request(JOINED, send, 5, "#a"))
    await asyncio.sleep(0)
    assert sent == ["JOIN #a"] and replies.waiting(JOINED, "#a") and not replies.waiting(JOINED, "#b")
    assert replies.resolve(JOINED, "state of #a", "#a")
    assert await first == await second == "state of #a"
    assert len(replies) == 0 and not replies.resolve(JOINED, "again", "#a")


async def test_the_link_dropping_fails_every_waiter_with_its_kinds_error() -> None:
    replies = Replies()
    joined, _ = replies.expect(JOINED, "#a")
    listed, _ = replies.expect(LISTED)
    replies.fail_all("gone")
    assert len(replies) == 0
    with pytest.raises(ConnectionError, match="#a: gone"):
        await joined
    with pytest.raises(ConnectionError, match=r"^gone$"):
        await listed


async def test_a_timeout_or_an_unsent_request_ends_the_waiter_for_everyone_sharing_it() -> None:
    replies = Replies()
    slow = asyncio.create_task(replies.request(LISTED, lambda: asyncio.sleep(0), 10))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        await replies.request(LISTED, lambda: asyncio.sleep(0), 0.01)
    with pytest.raises(TimeoutError):
        await slow
    assert len(replies) == 0

    async def refused() -> None:
        raise ConnectionError("queue closed")

    with pytest.raises(ConnectionError, match="queue closed"):
        await replies.request(JOINED, refused, 5, "#a")
    assert len(replies) == 0


async def test_a_failure_reaches_the_waiter_and_only_its_key() -> None:
    replies = Replies()
    a, _ = replies.expect(JOINED, "#a")
    b, _ = replies.expect(JOINED, "#b")
    assert replies.fail(JOINED, ValueError("banned"), "#a") and not replies.fail(JOINED, ValueError("x"), "#c")
    with pytest.raises(ValueError, match="banned"):
        await a
    assert not b.done() and replies.waiting(JOINED, "#b")
