"""The outbox: per-number pace and order, nothing lost; what was pending when the gateway stopped goes out after
a restart, once, in order, even when the stop came in the middle of a create."""

from __future__ import annotations

import pytest

from gateway.core.events import Direction, Status
from gateway.transports.sms import transport
from tests.e2e.sms.conftest import PEER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


async def test_a_burst_of_20_goes_out_in_order_at_the_configured_rate(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start(rate=20.0, burst=1)
    inbox = Inbox(alice)
    bodies = [f"burst {n:02d}" for n in range(20)]
    for n, body in enumerate(bodies):
        send_text(alice, PEER, body, f"b-{n}")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 20)
    assert [m.body for m in sandbox.sent_to(PEER)] == bodies  # every one, once, in order
    creates = sandbox.creates(PEER)
    # 20 per second with a burst of 1: one every 50 ms. Roughly: none bunched, the whole at about that pace. A
    # request the loop sent a little late may arrive just before the next (the pace keeps the average, not each
    # gap), so the check is on every two gaps together: no three within one interval.
    spans = [c.at - a.at for a, _, c in zip(creates, creates[1:], creates[2:], strict=False)]
    assert min(spans) > 0.05, spans
    assert creates[-1].at - creates[0].at > 0.8 * 19 / 20
    assert not inbox.matching(lambda m: m["type"] == "error")

    async def all_answered() -> bool:  # the last answer may still be on its way when the sandbox has the text
        return {r.status for r in await journal(running, Direction.OUT)} <= {Status.SENT, Status.DELIVERED}

    await wait_until(all_answered, timeout=5)


async def test_a_burst_within_the_configured_burst_goes_at_once(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    await sms_stack.start(rate=0.5, burst=5)  # 5 at once, then one every 2 s
    for n in range(6):
        send_text(alice, PEER, f"quick {n}", f"q-{n}")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) >= 5, timeout=4)
    creates = sandbox.creates(PEER)
    # Within one token's interval (2 s): none of them waited for the rate. (Each text is journaled and checked on
    # its way here, which on a loaded machine took a quarter of a second.)
    assert creates[4].at - creates[0].at < 2
    assert [m.body for m in sandbox.sent_to(PEER)][:5] == [f"quick {n}" for n in range(5)]
    assert all(c.at - creates[0].at > 1.9 for c in creates[5:])  # the 6th waits its turn


async def test_pending_texts_resume_after_a_restart_once_and_in_order(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    first = await sms_stack.start(rate=4.0, burst=1)
    bodies = [f"pending {n}" for n in range(8)]
    for n, body in enumerate(bodies):
        send_text(alice, PEER, body, f"p-{n}")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) >= 2)
    await sms_stack.stop(first)
    before = len(sandbox.sent_to(PEER))
    assert before < len(bodies)  # some were still queued
    second = await sms_stack.start(rate=50.0, burst=1)
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == len(bodies))
    await sandbox.idle()
    assert [m.body for m in sandbox.sent_to(PEER)] == bodies
    assert [c.body for c in sandbox.creates(PEER)] == bodies  # not even a second attempt
    rows = await journal(second, Direction.OUT)
    assert [r.body for r in rows] == bodies
    assert {r.status for r in rows} <= {Status.SENT, Status.DELIVERED}
    assert len({r.provider_id for r in rows}) == len(bodies)


async def test_a_stop_during_a_create_that_twilio_took_does_not_send_it_twice(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    first = await sms_stack.start()
    sandbox.hold("caught mid-flight", mode="after")  # Twilio creates it; its answer never reaches the gateway
    send_text(alice, PEER, "caught mid-flight", "f-1", receipt=True)
    send_text(alice, PEER, "queued behind it", "f-2")
    await sandbox.held.wait()
    await sms_stack.stop(first)  # the create is cancelled while waiting for the answer
    sandbox.release()
    inbox = Inbox(alice)
    second = await sms_stack.start()
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 2)
    await inbox.wait_for(lambda m: m["receipt"] == "f-1")
    assert [m.body for m in sandbox.sent_to(PEER)] == ["caught mid-flight", "queued behind it"]
    # One create per text: the restart did not try it again. What told it the first one exists depends on
    # timing (the status callback may reach the stopping gateway, or the restart asks Twilio); either is right.
    assert [c.body for c in sandbox.creates(PEER)] == ["caught mid-flight", "queued behind it"]
    [caught, queued] = await journal(second, Direction.OUT)
    assert caught.provider_id == sandbox.sent_to(PEER)[0].sid
    assert caught.status == Status.DELIVERED and queued.status in (Status.SENT, Status.DELIVERED)


async def test_a_status_callback_that_reaches_the_restart_before_its_question_to_twilio_is_the_text_s_own(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio retries the status callback of the create whose answer was lost; when the restarted gateway takes it
    before it asks Twilio whether that create got through, the journal row holds the SID first. It is the text's
    own SID, not another text's with the same body: the text is not sent again."""
    monkeypatch.setattr(transport, "STATUS_WAIT", 0.2)  # how long a callback waits for a create in flight
    first = await sms_stack.start()
    sandbox.hold("caught mid-flight", mode="after")
    send_text(alice, PEER, "caught mid-flight", "f-1")
    await sandbox.held.wait()
    await sms_stack.stop(first)
    sandbox.hold_lists()
    sandbox.release()
    second = await sms_stack.start()
    await wait_until(lambda: sandbox.lists())  # the restart asks whether the create got through
    [message] = sandbox.sent_to(PEER)
    await sandbox.report_status(message.sid, "delivered")  # the callback, retried, reaches the restarted gateway

    async def stored() -> bool:
        return [r.provider_id for r in await journal(second, Direction.OUT)] == [message.sid]

    await wait_until(stored)
    sandbox.release_lists()
    send_text(alice, PEER, "queued behind it", "f-2")  # a number's texts go in order: this one goes after it
    await wait_until(lambda: len(sandbox.creates(PEER)) >= 2)
    assert [c.body for c in sandbox.creates(PEER)] == ["caught mid-flight", "queued behind it"]


async def test_a_request_that_never_got_through_is_sent_after_a_restart_even_after_an_identical_text(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    """Reconciliation matches on number and body: an earlier text with the same body must not be mistaken for
    the one whose fate is unknown."""
    first = await sms_stack.start()
    send_text(alice, PEER, "ok", "same-1")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 1)
    sandbox.hold("ok", mode="drop")  # the second "ok" never gets through
    send_text(alice, PEER, "ok", "same-2")
    await sandbox.held.wait()
    await sms_stack.stop(first)
    sandbox.release()
    second = await sms_stack.start()
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 2)
    assert [m.body for m in sandbox.sent_to(PEER)] == ["ok", "ok"]
    rows = await journal(second, Direction.OUT)
    assert len({r.provider_id for r in rows}) == 2
