"""Twilio's errors as the user sees them: every mapped API error through the sandbox's magic numbers, 429 and
connection failures retried, 5xx and timeouts reconciled (never created twice), opt-outs kept locally."""

from __future__ import annotations

import asyncio

import pytest

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.devstack.ports import free_port
from gateway.transports.sms import transport as transport_module
from gateway.transports.sms.errors import API_ERROR_CODES, TWILIO_ERRORS
from gateway.transports.sms.sandbox import magic_number
from gateway.transports.sms.sandbox.magic import SLOW
from gateway.transports.sms.transport import UNKNOWN_TEXT, SmsTransport
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, journal, make_sandbox, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

CREATED_SLOWLY, NOT_CREATED_SLOWLY = sorted(SLOW, key=lambda number: not SLOW[number].created)
ALWAYS_500 = "+15005500500"
# 20003 needs wrong credentials (its own test); every other mapped API error has a magic number.
MAGIC_CODES = [code for code in TWILIO_ERRORS if code < 30000 and code != 20003 and code != 21620]


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmsTransport, "retry_backoff", 0.02)


def test_the_magic_numbers_cover_every_required_api_error() -> None:
    assert set(API_ERROR_CODES) - {20003} <= set(MAGIC_CODES)


async def test_every_mapped_api_error_reaches_the_user_with_its_text(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    for code in MAGIC_CODES:
        send_text(alice, magic_number(code), f"trigger {code}", f"e-{code}")
    for code in MAGIC_CODES:
        condition, text = error_of(await inbox.error_for(f"e-{code}"))
        assert (condition, text) == (TWILIO_ERRORS[code].condition, TWILIO_ERRORS[code].text), code
    assert sandbox.sent() == []  # the API refused every one: nothing was created
    rows = await journal(running, Direction.OUT)
    assert {r.status for r in rows} == {Status.FAILED}
    assert len(sandbox.creates(magic_number(20429))) == SmsTransport.retries + 1  # 429: tried again, then told


async def test_wrong_credentials_are_20003(sms_stack: SmsStack, sandbox: RecordingSandbox,
                                           alice: TestClient) -> None:
    await sms_stack.start(auth_token="not-the-account-token")
    inbox = Inbox(alice)
    send_text(alice, PEER, "hello", "auth-1")
    condition, text = error_of(await inbox.error_for("auth-1"))
    assert (condition, text) == (TWILIO_ERRORS[20003].condition, TWILIO_ERRORS[20003].text)
    assert sandbox.sent() == [] and len(sandbox.creates()) == 1  # not retried: it would fail again


async def test_a_429_is_retried_with_backoff_until_it_goes_away(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmsTransport, "retry_backoff", 0.1)
    await sms_stack.start()
    inbox = Inbox(alice)
    sandbox.fail_next(429, 20429, count=2)
    send_text(alice, PEER, "patience", "429-1", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "429-1")
    assert [m.body for m in sandbox.sent_to(PEER)] == ["patience"]
    creates = sandbox.creates(PEER)
    assert len(creates) == 3
    first_pause, second_pause = creates[1].at - creates[0].at, creates[2].at - creates[1].at
    # Doubling from 0.1 s, each pause 80-100 % of its delay (core/backoff.py).
    assert first_pause >= 0.075 and second_pause >= 0.15, (first_pause, second_pause)
    assert sandbox.lists() == []  # a 429 proves nothing was created: no need to ask
    assert not inbox.matching(lambda m: m["type"] == "error")


async def test_connection_failures_before_the_request_left_are_retried(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    port = free_port()
    await sms_stack.start(api_base_url=f"http://127.0.0.1:{port}")  # nothing listens there yet
    inbox = Inbox(alice)
    send_text(alice, PEER, "nobody home", "conn-1")
    condition, text = error_of(await inbox.error_for("conn-1"))  # after every retry failed
    assert condition == "undefined-condition" and "cannot reach the SMS provider" in text
    late = make_sandbox()
    send_text(alice, PEER, "the provider comes back", "conn-2")
    await asyncio.sleep(0.1)  # the first tries find nothing listening
    await late.start(port=port)
    try:
        await wait_until(lambda: late.sent_to(PEER), timeout=5)
        assert [m.body for m in late.sent_to(PEER)] == ["the provider comes back"]
        await late.idle()
    finally:
        await late.stop()
    assert not inbox.matching(lambda m: m["type"] == "error" and m["id"] == "conn-2")


async def test_a_500_is_reconciled_and_sent_once(sms_stack: SmsStack, sandbox: RecordingSandbox,
                                                 alice: TestClient) -> None:
    await sms_stack.start()
    inbox = Inbox(alice)
    sandbox.fail_next(500, 20500)
    send_text(alice, PEER, "after a 500", "500-1", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "500-1")
    assert [m.body for m in sandbox.sent_to(PEER)] == ["after a 500"]
    kinds = [c.kind for c in sandbox.api_calls]
    assert kinds == ["create", "list", "create"]  # asked whether it existed before creating it again


async def test_a_500_that_does_not_go_away_is_refused_once_twilio_says_nothing_was_created(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, ALWAYS_500, "into the void", "500-2")
    condition, text = error_of(await inbox.error_for("500-2"))
    assert condition == "undefined-condition"
    assert "error 20500" in text and "nothing was sent" in text
    creates, lists = sandbox.creates(ALWAYS_500), sandbox.lists()
    assert len(creates) == SmsTransport.retries + 1 and len(lists) == len(creates)  # each 500: asked first
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.FAILED


async def test_a_timeout_is_reconciled_not_retried_blindly(sms_stack: SmsStack, sandbox: RecordingSandbox,
                                                           alice: TestClient) -> None:
    sandbox.slow_delay = 2.0
    running = await sms_stack.start(request_timeout=0.3)
    inbox = Inbox(alice)
    send_text(alice, CREATED_SLOWLY, "slow but there", "slow-1", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "slow-1")
    assert [m.body for m in sandbox.sent_to(CREATED_SLOWLY)] == ["slow but there"]
    assert [c.kind for c in sandbox.api_calls] == ["create", "list"]  # created: not sent again
    [row] = await journal(running, Direction.OUT)
    assert (row.status, row.provider_id) == (Status.DELIVERED, sandbox.sent_to(CREATED_SLOWLY)[0].sid)


async def test_a_timeout_without_a_message_is_retried_then_refused(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmsTransport, "retries", 1)
    sandbox.slow_delay = 2.0
    await sms_stack.start(request_timeout=0.3)
    inbox = Inbox(alice)
    send_text(alice, NOT_CREATED_SLOWLY, "never there", "slow-2")
    condition, text = error_of(await inbox.error_for("slow-2"))
    assert "did not answer" in text and "nothing was sent" in text, (condition, text)
    assert sandbox.sent() == []
    assert [c.kind for c in sandbox.api_calls] == ["create", "list", "create", "list"]


async def test_the_user_is_told_the_outcome_is_unknown_when_twilio_cannot_tell(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    sandbox.slow_delay = 2.0
    sandbox.status_delay = 60.0  # a later 'delivered' would settle it (tests/e2e/sms/test_sms_unknown_settled.py)
    running = await sms_stack.start(request_timeout=0.3)
    inbox = Inbox(alice)
    sandbox.fail_next(500, 20500, count=100, on="list")
    send_text(alice, CREATED_SLOWLY, "did it go?", "unk-1", receipt=True)
    condition, text = error_of(await inbox.error_for("unk-1"))
    assert (condition, text) == ("undefined-condition", UNKNOWN_TEXT)
    assert len(sandbox.creates(CREATED_SLOWLY)) == 1  # not created again blindly
    [row] = await journal(running, Direction.OUT)
    assert row.status == Status.UNKNOWN


async def opted_out(running: Gateway, peer: str) -> bool:
    """Whether `peer` opted out of texts from ALICE_NUMBER, as alice's next text to them would see it."""
    assert running.store is not None
    numbers = await running.store.sms.sending_numbers("sms", "alice@localhost", peer)
    return next(n.peer_opted_out for n in numbers if n.address == ALICE_NUMBER)


async def test_21610_marks_the_recipient_opted_out_until_they_text_start(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    assert running.store is not None
    unsubscribed = magic_number(21610)
    inbox = Inbox(alice)
    send_text(alice, unsubscribed, "hello?", "opt-1")
    assert error_of(await inbox.error_for("opt-1"))[1] == TWILIO_ERRORS[21610].text
    assert await opted_out(running, unsubscribed)
    send_text(alice, unsubscribed, "still there?", "opt-2")
    condition, text = error_of(await inbox.error_for("opt-2"))
    assert (condition, text) == ("forbidden", TWILIO_ERRORS[21610].text)
    assert len(sandbox.creates(unsubscribed)) == 1  # refused here: Twilio was not asked again
    for word in ("START", "unstop", " Yes "):
        await running.store.sms.opt_out(ALICE_NUMBER, unsubscribed)
        result = await sandbox.send_inbound(unsubscribed, ALICE_NUMBER, word)
        assert result.status == 200
        assert not await opted_out(running, unsubscribed), word
    send_text(alice, unsubscribed, "welcome back", "opt-3")
    await inbox.error_for("opt-3")  # the magic number refuses again, but the request went to Twilio
    assert len(sandbox.creates(unsubscribed)) == 2


async def test_a_stop_from_the_phone_refuses_further_texts_until_start(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    await sms_stack.start()
    inbox = Inbox(alice)
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "STOP")
    await inbox.wait_for(lambda m: m["body"] == "STOP")  # the user sees it too
    send_text(alice, PEER, "are you sure?", "stop-1")
    assert error_of(await inbox.error_for("stop-1")) == ("forbidden", TWILIO_ERRORS[21610].text)
    assert sandbox.creates(PEER) == []
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "start")
    send_text(alice, PEER, "welcome back", "stop-2", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "stop-2")
    assert [m.body for m in sandbox.sent_to(PEER)] == ["welcome back"]


async def test_an_sdk_that_cannot_be_loaded_is_logged_and_each_text_told_it_could_not_be_sent(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise ImportError("No module named 'twilio.rest'")

    monkeypatch.setattr(transport_module, "_load_sdk", broken)
    await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, PEER, "hello", "sdk-1")
    condition, text = error_of(await inbox.error_for("sdk-1"))
    assert (condition, text) == ("internal-server-error", "The gateway could not send this text.")
    assert "the twilio SDK cannot be loaded, so no text can be sent" in caplog.text
    assert sandbox.creates() == []
