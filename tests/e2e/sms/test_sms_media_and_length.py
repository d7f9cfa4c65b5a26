"""Media (XEP-0066 OOB) and long texts: URLs become MediaUrl, at most 10; over 1,600 characters split or refused."""

from __future__ import annotations

import pytest

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.transports.sms.segments import MAX_BODY
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

PHOTO = "https://example.org/media/photo.jpg"
URLS = [f"https://example.org/media/{n}.png" for n in range(11)]


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


async def test_oob_urls_become_media_urls_and_a_repeated_url_is_not_sent_twice(
        gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    send_text(alice, PEER, "look at this", "m-1", oob=[PHOTO])  # text and one picture
    send_text(alice, PEER, PHOTO, "m-2", oob=[PHOTO])  # clients repeat the URL in the body: one copy only
    send_text(alice, PEER, f"{URLS[0]}\n{URLS[1]}", "m-3", oob=URLS[:2])  # two pictures, the body repeats both
    send_text(alice, PEER, "\n".join(URLS[:10]), "m-4", oob=URLS[:10])  # ten, the most a text may carry
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 4)
    assert [(m.body, m.media) for m in sandbox.sent_to(PEER)] == [
        ("look at this", (PHOTO,)), ("", (PHOTO,)), ("", tuple(URLS[:2])), ("", tuple(URLS[:10]))]
    assert not inbox.matching(lambda m: m["type"] == "error")


async def test_eleven_media_are_refused(gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    send_text(alice, PEER, "all my pictures", "m-11", oob=URLS)
    condition, text = error_of(await inbox.error_for("m-11"))
    assert condition == "not-acceptable"
    assert "at most 10 attachments" in text and "11" in text
    assert sandbox.api_calls == []


def _long_body(words: int) -> str:
    return " ".join(f"word{n:04d}" for n in range(words))  # 9 characters a word, with the space


async def test_a_long_text_is_split_into_ordered_parts(sms_stack: SmsStack, sandbox: RecordingSandbox,
                                                       alice: TestClient) -> None:
    running = await sms_stack.start(long_messages="split", rate=20.0, burst=1)
    body = _long_body(400)  # 3,599 characters: three parts
    assert len(body) > 2 * MAX_BODY
    send_text(alice, PEER, body, "long-1", receipt=True)
    send_text(alice, PEER, "after the long one", "long-2")
    inbox = Inbox(alice)
    [_receipt] = await inbox.wait_for(lambda m: m["receipt"] == "long-1")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 4)
    parts = [m.body for m in sandbox.sent_to(PEER)]
    assert len(parts) == 4 and parts[3] == "after the long one"
    assert all(0 < len(part) <= MAX_BODY for part in parts[:3])
    assert " ".join(parts[:3]) == body  # in order, cut between words, nothing lost
    assert all(m.from_ == ALICE_NUMBER for m in sandbox.sent_to(PEER))
    [row, _] = await journal(running, Direction.OUT)
    assert (row.status, row.body) == (Status.DELIVERED, body)  # one message for the user: one receipt
    creates = sandbox.creates(PEER)  # each part is a request of its own, paced like any other (50 ms apart)
    # Over all of them: one request delayed on its way under load (a parallel test run) shortens one gap, not the span.
    assert creates[-1].at - creates[0].at >= 0.03 * (len(creates) - 1)


async def test_a_long_text_is_refused_when_configured(sms_stack: SmsStack, sandbox: RecordingSandbox,
                                                      alice: TestClient) -> None:
    await sms_stack.start(long_messages="refuse")
    inbox = Inbox(alice)
    send_text(alice, PEER, "x" * (MAX_BODY + 1), "long-1")
    condition, text = error_of(await inbox.error_for("long-1"))
    assert condition == "not-acceptable"
    assert "1601 characters" in text and "at most 1600" in text
    send_text(alice, PEER, "x" * MAX_BODY, "long-2")  # exactly 1,600 goes out in one piece
    await wait_until(lambda: sandbox.sent_to(PEER))
    assert [len(m.body) for m in sandbox.sent_to(PEER)] == [MAX_BODY]
    assert [c.body for c in sandbox.creates()] == ["x" * MAX_BODY]
