"""Status callbacks: 'delivered' becomes a XEP-0184 receipt when the original asked for one; 'failed' and
'undelivered' become an error stanza with the text for Twilio's ErrorCode."""

from __future__ import annotations

import asyncio

import pytest

from gateway.core.events import Direction, Status
from gateway.transports.sms.errors import DELIVERY_ERROR_CODES, TWILIO_ERRORS
from gateway.transports.sms.sandbox import magic_number
from gateway.transports.sms.sandbox.magic import DELIVERY_FAILURES, NEVER_DELIVERED
from tests.e2e.sms.conftest import PEER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, jid, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

CODES = sorted({*DELIVERY_ERROR_CODES, 30002})


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


async def test_delivered_becomes_a_receipt_only_when_one_was_asked_for(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, PEER, "no receipt, thanks", "r-1")
    send_text(alice, PEER, "receipt, please", "r-2", receipt=True)
    send_text(alice, NEVER_DELIVERED, "into a dead phone", "r-3", receipt=True)
    send_text(alice, PEER, "another receipt", "r-4", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "r-4")
    await sandbox.idle()  # every callback was answered, so every receipt was written to the server
    await asyncio.wait_for(alice.plugin["xep_0199"].ping(jid(PEER)), 5)  # and has reached alice
    receipts = inbox.matching(lambda m: bool(m["receipt"]))
    assert sorted(m["receipt"] for m in receipts) == ["r-2", "r-4"]
    assert all(str(m["from"]) == jid(PEER) for m in receipts)
    assert not inbox.matching(lambda m: m["type"] == "error")
    statuses = {r.xmpp_id: r.status for r in await journal(running, Direction.OUT)}
    assert statuses == {"r-1": Status.DELIVERED, "r-2": Status.DELIVERED, "r-3": Status.SENT,
                        "r-4": Status.DELIVERED}


async def test_failed_and_undelivered_become_errors_with_the_mapped_text(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    for code in CODES:
        send_text(alice, magic_number(code), f"will fail with {code}", f"d-{code}", receipt=True)
    for code in CODES:
        error = await inbox.error_for(f"d-{code}")
        condition, text = error_of(error)
        assert text == TWILIO_ERRORS[code].text, code
        assert condition == TWILIO_ERRORS[code].condition, code
        assert error["error"]["type"] == TWILIO_ERRORS[code].type, code  # "wait": trying later may work
        assert str(error["from"]) == jid(magic_number(code))
    final = {m.to: m.status for m in sandbox.sent()}
    assert {final[magic_number(code)] for code in CODES} == {"failed", "undelivered"}
    assert all(final[magic_number(code)] == DELIVERY_FAILURES[magic_number(code)].status for code in CODES)
    assert not inbox.matching(lambda m: bool(m["receipt"]))
    assert {r.status for r in await journal(running, Direction.OUT)} == {Status.FAILED}


async def test_a_callback_that_overtakes_the_answer_to_the_create_is_not_lost(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    """Twilio may call back before its answer to the create arrives: the receipt must still come, and the
    journal must end 'delivered', not fall back to 'sent'."""
    running = await sms_stack.start()
    inbox = Inbox(alice)
    sandbox.hold("overtaken", mode="after")
    send_text(alice, PEER, "overtaken", "o-1", receipt=True)
    await sandbox.held.wait()
    await asyncio.sleep(0.2)  # 'sent' (and, without the gateway waiting, 'delivered') call back meanwhile
    sandbox.release()
    await inbox.wait_for(lambda m: m["receipt"] == "o-1")
    await sandbox.idle()

    async def answer_recorded() -> bool:
        return all(r.provider_id for r in await journal(running, Direction.OUT))

    await wait_until(answer_recorded)
    [row] = await journal(running, Direction.OUT)
    assert (row.status, row.provider_id) == (Status.DELIVERED, sandbox.sent_to(PEER)[0].sid)

