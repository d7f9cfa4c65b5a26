"""Twilio's webhooks, fail closed: only signed requests of our account are stored; stored before the 200;
retries delivered once; MMS as OOB with the text; the contact's name as XEP-0172 nick."""

from __future__ import annotations

import pytest

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER
from tests.e2e.sms.support import (
    Inbox,
    inbound_params,
    jid,
    journal,
    nick_of,
    oob_urls,
    post_form,
    webhook_url,
)
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
OTHER_ACCOUNT = "AC" + "0b" * 16


async def _settle_with_a_good_one(gateway: Gateway, sandbox: SmsSandbox, inbox: Inbox) -> None:
    """A valid text after the bad ones: once it is in, anything the bad ones caused would be in too."""
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "the real one")
    assert result.status == 200
    await inbox.wait_for(lambda m: m["body"] == "the real one")


async def test_unsigned_forged_tampered_or_foreign_webhooks_get_403_and_change_nothing(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    url = webhook_url(gateway)
    params = inbound_params(PEER, ALICE_NUMBER, "forged", "SM" + "1" * 32)
    good = sandbox.sign(url, params)
    tampered = {**params, "Body": "tampered"}
    foreign = {**params, "AccountSid": OTHER_ACCOUNT, "MessageSid": "SM" + "2" * 32}
    elsewhere = webhook_url(gateway).replace("127.0.0.1", "localhost")  # signed for another URL
    attempts = [
        ("missing signature", params, None),
        ("empty signature", params, ""),
        ("forged signature", params, "bm90IGEgc2lnbmF0dXJl"),
        ("signature of other parameters", params, sandbox.sign(url, {**params, "Body": "other"})),
        ("tampered body", tampered, good),
        ("added parameter", {**params, "MediaUrl0": "https://evil.example/x.png", "NumMedia": "1"}, good),
        ("signed for another URL", params, sandbox.sign(elsewhere, params)),
        ("another account, correctly signed", foreign, sandbox.sign(url, foreign)),
    ]
    for what, form, signature in attempts:
        status, _ = await post_form(url, form, signature)
        assert status == 403, what
    status_url = webhook_url(gateway, "/sms/status?j=1&part=1&of=1")
    callback = {"AccountSid": OTHER_ACCOUNT, "MessageSid": "SM" + "3" * 32, "MessageStatus": "delivered"}
    assert (await post_form(status_url, callback, None))[0] == 403
    assert (await post_form(status_url, callback, sandbox.sign(status_url, callback)))[0] == 403
    await _settle_with_a_good_one(gateway, sandbox, inbox)
    assert [r.body for r in await journal(gateway)] == ["the real one"]
    assert [m["body"] for m in inbox.messages] == ["the real one"]


@pytest.mark.parametrize(("path", "missing"), [
    ("/sms/inbound", "From"), ("/sms/inbound", "To"), ("/sms/inbound", "MessageSid"),
    ("/sms/status?j=1&part=1&of=1", "MessageStatus"),
])
async def test_missing_parameters_get_400(gateway: Gateway, sandbox: SmsSandbox, path: str, missing: str) -> None:
    url = webhook_url(gateway, path)
    params = inbound_params(PEER, ALICE_NUMBER, "incomplete", "SM" + "4" * 32, MessageStatus="delivered")
    del params[missing]
    status, text = await post_form(url, params, sandbox.sign(url, params))
    assert status == 400 and missing in text
    assert await journal(gateway) == []


async def test_malformed_parameters_get_400(gateway: Gateway, sandbox: SmsSandbox) -> None:
    for path, extra in [("/sms/inbound", {"NumMedia": "two"}), ("/sms/status", {"MessageStatus": "delivered"}),
                        ("/sms/status?j=x&part=1&of=1", {"MessageStatus": "delivered"})]:
        url = webhook_url(gateway, path)
        params = inbound_params(PEER, ALICE_NUMBER, "odd", "SM" + "5" * 32, **extra)
        status, _ = await post_form(url, params, sandbox.sign(url, params))
        assert status == 400, (path, extra)
    assert await journal(gateway) == []


async def test_a_repeated_webhook_is_acknowledged_and_delivered_once(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    url = webhook_url(gateway)
    params = inbound_params(PEER, ALICE_NUMBER, "only once please", "SM" + "6" * 32)
    signature = sandbox.sign(url, params)
    for _ in range(3):  # Twilio retries when it thinks we did not answer
        assert await post_form(url, params, signature) == (200, EMPTY_TWIML)
    await _settle_with_a_good_one(gateway, sandbox, inbox)
    assert [m["body"] for m in inbox.messages] == ["only once please", "the real one"]

    async def delivered() -> bool:  # marked once the server confirmed it (a ping after it was answered)
        return {r.status for r in await journal(gateway, Direction.IN)} == {Status.DELIVERED}

    await wait_until(delivered)
    rows = await journal(gateway, Direction.IN)
    assert [(r.body, r.provider_id) for r in rows] == [("only once please", "SM" + "6" * 32),
                                                       ("the real one", rows[1].provider_id)]


async def test_an_inbound_mms_arrives_as_oob_with_its_text(gateway: Gateway, sandbox: SmsSandbox,
                                                           alice: TestClient) -> None:
    inbox = Inbox(alice)
    media = ["https://media.example/one.jpg", "https://media.example/two.png"]
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "our holiday", media)
    [message] = await inbox.wait_for(lambda m: "our holiday" in m["body"])
    assert oob_urls(message) == media
    assert message["body"].splitlines() == ["our holiday", *media]  # for clients that ignore OOB
    assert str(message["from"]) == jid(PEER)
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "", media[:1])  # a picture without words
    [picture] = await inbox.wait_for(lambda m: m["body"] == media[0])
    assert oob_urls(picture) == media[:1]


async def test_a_mapped_contact_comes_with_their_name(gateway: Gateway, sandbox: SmsSandbox,
                                                     alice: TestClient) -> None:
    assert gateway.store is not None
    await gateway.store.contacts.add("alice@localhost", "sms", PEER, "Mom")
    inbox = Inbox(alice)
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "call me")
    await sandbox.send_inbound("+12025550124", ALICE_NUMBER, "who am I?")
    [from_mom] = await inbox.wait_for(lambda m: m["body"] == "call me")
    [stranger] = await inbox.wait_for(lambda m: m["body"] == "who am I?")
    assert nick_of(from_mom) == "Mom"
    assert nick_of(stranger) is None


async def test_a_text_that_cannot_be_stored_is_not_acknowledged_so_twilio_retries(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gateway.store is not None
    journal_repo = gateway.store.journal
    original = journal_repo.record_inbound
    failures = [RuntimeError("the database is gone")]

    async def failing_once(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journal_repo, "record_inbound", failing_once)
    inbox = Inbox(alice)
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "store me first")
    assert (result.attempts, result.status) == (2, 200)
    assert [a.status for a in sandbox.webhook_log if a.kind == "inbound"] == [500, 200]
    await inbox.wait_for(lambda m: m["body"] == "store me first")
    await _settle_with_a_good_one(gateway, sandbox, inbox)
    assert [m["body"] for m in inbox.messages] == ["store me first", "the real one"]
