"""After "cannot tell whether your text was sent" (Status.UNKNOWN, told to the user), Twilio's later status
callback for that text still reaches the user: 'delivered' gives a receipt (asked for or not: the user was left
in doubt), 'undelivered' an error with its reason."""

from __future__ import annotations

import pytest

from gateway.core.events import Direction, Status
from gateway.transports.sms.errors import TWILIO_ERRORS
from gateway.transports.sms.sandbox.magic import SLOW
from gateway.transports.sms.transport import UNKNOWN_TEXT, SmsTransport
from tests.e2e.sms.conftest import SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

CREATED_SLOWLY = next(number for number, slow in SLOW.items() if slow.created)


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmsTransport, "retry_backoff", 0.02)


async def _unknown(sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, inbox: Inbox,
                   stanza_id: str, receipt: bool) -> None:
    """A text Twilio creates but whose answer comes too late, while listing fails: the user is told UNKNOWN."""
    sandbox.slow_delay = 2.0
    await sms_stack.start(request_timeout=0.3)
    sandbox.fail_next(500, 20500, count=100, on="list")
    send_text(alice, CREATED_SLOWLY, "did it go?", stanza_id, receipt=receipt)
    assert error_of(await inbox.error_for(stanza_id)) == ("undefined-condition", UNKNOWN_TEXT)


@pytest.mark.parametrize(("status_delay", "receipt"), [
    pytest.param(1.0, True, id="delivered-after-the-user-was-told"),
    pytest.param(0.01, False, id="delivered-while-still-sending-no-receipt-asked"),
])
async def test_a_later_delivered_callback_gives_a_receipt(
        status_delay: float, receipt: bool, sms_stack: SmsStack, sandbox: RecordingSandbox,
        alice: TestClient) -> None:
    sandbox.status_delay = status_delay
    inbox = Inbox(alice)
    await _unknown(sms_stack, sandbox, alice, inbox, "unk-1", receipt)
    await inbox.wait_for(lambda m: m["receipt"] == "unk-1")
    [running] = sms_stack.running
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.DELIVERED
    assert len(sandbox.creates(CREATED_SLOWLY)) == 1
    assert row.provider_id == sandbox.sent_to(CREATED_SLOWLY)[0].sid  # the callback was the only word of it


async def test_a_later_failure_is_told_with_its_reason(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    sandbox.status_delay = 60.0  # its own life cycle stays quiet: the test reports the failure
    inbox = Inbox(alice)
    await _unknown(sms_stack, sandbox, alice, inbox, "unk-2", receipt=True)
    [message] = sandbox.sent_to(CREATED_SLOWLY)
    [attempt] = await sandbox.report_status(message.sid, "undelivered", 30003, "unreachable")
    assert attempt.status == 200
    await inbox.wait_for(lambda m: m["type"] == "error" and m["id"] == "unk-2", count=2)
    errors = inbox.matching(lambda m: m["type"] == "error" and m["id"] == "unk-2")
    assert error_of(errors[1])[1] == TWILIO_ERRORS[30003].text
    [running] = sms_stack.running

    async def failed() -> bool:
        return [(r.status, r.provider_id) for r in await journal(running, Direction.OUT)] == [
            (Status.FAILED, message.sid)]

    await wait_until(failed)
    assert not inbox.matching(lambda m: bool(m["receipt"]))
