"""A text split into several messages: its receipt comes only once every part is delivered (also across a
restart between the callbacks), and a part that fails after another was delivered is an error naming the part.

The parts go to NEVER_DELIVERED, whose life cycle stops at 'sent'; the test then has the sandbox post each part's
final status callback (signed, as Twilio's) in the order it chooses."""

from __future__ import annotations

import asyncio

import pytest
from slixmpp import JID

from gateway.core.events import Direction, Status
from gateway.transports.sms.errors import TWILIO_ERRORS
from gateway.transports.sms.sandbox.magic import NEVER_DELIVERED
from gateway.transports.sms.segments import split_body
from tests.e2e.sms.conftest import SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, jid, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

LONG = " ".join(f"word{i}" for i in range(400))  # 2,689 characters: two parts


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


async def _sent_in_parts(sandbox: RecordingSandbox, body: str) -> list[str]:
    """The SIDs of the parts of `body`, in order, once each has been created and reported 'sent'."""
    parts = split_body(body)
    await wait_until(lambda: [m.body for m in sandbox.sent_to(NEVER_DELIVERED)][-len(parts):] == parts)
    await sandbox.idle()
    return [m.sid for m in sandbox.sent_to(NEVER_DELIVERED)][-len(parts):]


async def _settled(alice: TestClient) -> None:
    """Whatever the gateway wrote before now has reached alice."""
    await asyncio.wait_for(alice.plugin["xep_0199"].ping(JID(jid(NEVER_DELIVERED))), 5)


async def _status(sandbox: RecordingSandbox, sid: str, status: str, code: int | None = None) -> None:
    [attempt] = await sandbox.report_status(sid, status, code, "from the test")
    assert attempt.status == 200


async def test_the_receipt_waits_for_every_part_across_a_restart(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    assert len(split_body(LONG)) == 2
    running = await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, NEVER_DELIVERED, LONG, "long-1", receipt=True)
    first, second = await _sent_in_parts(sandbox, LONG)
    await _status(sandbox, second, "delivered")  # the last part first: carriers do not keep the order
    await _settled(alice)
    assert not inbox.matching(lambda m: bool(m["receipt"]))
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.SENT
    await sms_stack.stop(running)  # the part's state must be in the database, not in this process
    running = await sms_stack.start()
    await _status(sandbox, first, "delivered")
    await inbox.wait_for(lambda m: m["receipt"] == "long-1")
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.DELIVERED
    assert len(inbox.matching(lambda m: bool(m["receipt"]))) == 1


@pytest.mark.parametrize("failing", [1, 2])
async def test_a_part_that_fails_after_another_was_delivered_is_an_error_naming_it(
        failing: int, sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, NEVER_DELIVERED, LONG, "long-2", receipt=True)
    sids = await _sent_in_parts(sandbox, LONG)
    await _status(sandbox, sids[2 - failing], "delivered")
    await _status(sandbox, sids[failing - 1], "undelivered", 30003)
    condition, text = error_of(await inbox.error_for("long-2"))
    assert text.lower().startswith(f"part {failing} of 2 was not delivered: "), text
    assert "unreachable" in text, text  # the reason for 30003
    assert condition == TWILIO_ERRORS[30003].condition
    await _settled(alice)
    assert not inbox.matching(lambda m: bool(m["receipt"]))
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.FAILED


async def test_only_the_first_part_that_fails_is_told(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, NEVER_DELIVERED, LONG, "long-3", receipt=True)
    first, second = await _sent_in_parts(sandbox, LONG)
    await _status(sandbox, second, "undelivered", 30005)
    await _status(sandbox, first, "undelivered", 30003)  # the text is failed already: not told again
    await _settled(alice)
    errors = inbox.matching(lambda m: m["type"] == "error" and m["id"] == "long-3")
    assert [error_of(e)[1].split(":")[0] for e in errors] == ["Part 2 of 2 was not delivered"]
