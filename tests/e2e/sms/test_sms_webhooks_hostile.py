"""Hostile requests to a running gateway's Twilio webhooks: each gets a 4xx with its reason and one warning in
the log, never a 500, a traceback or a stall; nothing of them is journaled, and a good text still arrives after.

Signed bodies are signed exactly as sent: over their fields as Twilio's algorithm sees them (every value of a
repeated name), with twilio's RequestValidator and the sandbox's auth token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import ACCOUNT_SID, ALICE_NUMBER, AUTH_TOKEN, PEER, bind_alice, sms_config
from tests.e2e.sms.support import Inbox, inbound_params, journal, webhook_url
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=zzz"
BROKEN_MULTIPART = b'--zzz\r\nContent-Disposition: form-data; name="Body"\r\n\r\nhi'  # never closed
FORGED = "bm90IGEgc2lnbmF0dXJl"


def text(body: str = "hostile", sid: str = "SM" + "7" * 32, **extra: str) -> dict[str, str]:
    return inbound_params(PEER, ALICE_NUMBER, body, sid, **extra)


def encoded(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


def sign(url: str, body: bytes) -> str:
    fields = MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"))
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, fields))


async def post(url: str, body: bytes, content_type: str, signature: str | None) -> tuple[int, str]:
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


def assert_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    """One warning from the webhooks for the refused request, and no traceback anywhere."""
    warnings = [r for r in caplog.records if r.name == "gateway.transports.sms.webhooks"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


async def _settle_with_a_good_one(sandbox: SmsSandbox, inbox: Inbox) -> None:
    """A valid text after the bad ones: once it is in, anything the bad ones caused would be in too."""
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "the real one")
    assert result.status == 200
    await inbox.wait_for(lambda m: m["body"] == "the real one")


@pytest.mark.parametrize("signature", [None, FORGED], ids=["no signature", "forged signature"])
@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param(encoded(text()) + b"&Note=\xff\xfe", FORM, id="invalid UTF-8"),
    pytest.param(encoded(text()), FORM + "; charset=x-no-such-charset", id="unknown charset"),
    pytest.param(BROKEN_MULTIPART, MULTIPART, id="broken multipart"),
])
async def test_unsigned_bodies_that_cannot_be_parsed_get_403_before_they_are(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, caplog: pytest.LogCaptureFixture,
        body: bytes, content_type: str, signature: str | None) -> None:
    inbox = Inbox(alice)
    caplog.set_level(logging.INFO)
    status, reason = await post(webhook_url(gateway), body, content_type, signature)
    assert (status, "X-Twilio-Signature" in reason) == (403, True), reason
    assert_one_warning(caplog)
    await _settle_with_a_good_one(sandbox, inbox)
    assert [r.body for r in await journal(gateway)] == ["the real one"]
    assert [m["body"] for m in inbox.messages] == ["the real one"]


@pytest.mark.parametrize(("body", "content_type", "expected", "detail"), [
    # sandbox.sign(...) below signs the fields of these three as a dict, as the sandbox signs its own webhooks
    pytest.param(text(NumMedia="\u00b2"), FORM, 400, "NumMedia", id="NumMedia superscript two"),
    # once looped ten million times on the event loop: now refused before any MediaUrl is looked at
    pytest.param(text(NumMedia="10000000"), FORM, 400, "NumMedia", id="NumMedia ten million"),
    pytest.param(text(Padding="x" * 65536), FORM, 413, "larger than", id="over 64 KiB"),
    pytest.param(encoded(text()) + b"&Note=%FF", FORM, 400, "UTF-8", id="invalid UTF-8"),
    pytest.param(encoded(text()), FORM + "; charset=x-no-such-charset", 415, "charset", id="unknown charset"),
    pytest.param(BROKEN_MULTIPART, MULTIPART, 415, FORM, id="broken multipart"),
    pytest.param(encoded(text()) + b"&From=%2B12025550999", FORM, 400, "From is repeated", id="repeated From"),
])
async def test_signed_hostile_inbound_texts_get_4xx_with_a_reason(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, caplog: pytest.LogCaptureFixture,
        body: bytes | dict[str, str], content_type: str, expected: int, detail: str) -> None:
    inbox = Inbox(alice)
    caplog.set_level(logging.INFO)
    url = webhook_url(gateway)
    if isinstance(body, dict):
        body, signature = encoded(body), sandbox.sign(url, body)
    else:
        signature = sign(url, body)
    status, reason = await post(url, body, content_type, signature)
    assert (status, detail in reason) == (expected, True), reason
    assert_one_warning(caplog)
    await _settle_with_a_good_one(sandbox, inbox)
    assert [r.body for r in await journal(gateway)] == ["the real one"]
    assert [m["body"] for m in inbox.messages] == ["the real one"]


CALLBACK = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + "8" * 32, "MessageStatus": "undelivered",
            "From": ALICE_NUMBER, "To": PEER}


@pytest.mark.parametrize(("path", "params", "detail"), [
    pytest.param("/sms/status?j=1&part=1&of=1", {**CALLBACK, "ErrorCode": "\u00b2"}, "ErrorCode",
                 id="ErrorCode superscript two"),
    # once overflowed the journal's 64-bit id in the database
    pytest.param("/sms/status?j=999999999999999999999&part=1&of=1", CALLBACK, "j is not a number",
                 id="j past 63 bits"),
    pytest.param("/sms/status?j=1&part=2&of=1", CALLBACK, "part is not a number", id="part past of"),
])
async def test_signed_hostile_status_callbacks_get_400_with_a_reason(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, caplog: pytest.LogCaptureFixture,
        path: str, params: dict[str, str], detail: str) -> None:
    inbox = Inbox(alice)
    caplog.set_level(logging.INFO)
    url = webhook_url(gateway, path)
    status, reason = await post(url, encoded(params), FORM, sandbox.sign(url, params))
    assert (status, detail in reason) == (400, True), reason
    assert_one_warning(caplog)
    await _settle_with_a_good_one(sandbox, inbox)
    assert [r.body for r in await journal(gateway)] == ["the real one"]


@pytest.fixture
async def gateway_on(prosody: ProsodyServer, sandbox: SmsSandbox, tmp_path: Path, database_url: str
                     ) -> AsyncIterator[Gateway]:
    """The SMS gateway on SQLite, then on PostgreSQL (whose text cannot hold NUL and whose ids are bigint)."""
    running = await start_gateway(sms_config(prosody, sandbox, database_url, free_port()), tmp_path)
    await bind_alice(running)
    yield running
    await running.stop()


async def test_the_database_is_handed_nothing_it_cannot_hold(
        gateway_on: Gateway, sandbox: SmsSandbox, alice: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox(alice)
    caplog.set_level(logging.INFO)
    url = webhook_url(gateway_on)
    nul = text(Body="nul\0here")
    assert (await post(url, encoded(nul), FORM, sandbox.sign(url, nul)))[0] == 200  # kept, without the NUL
    for j, expected in ((2**63, 400), (2**63 - 1, 200)):  # the largest id is valid, and unknown: ignored
        status_url = webhook_url(gateway_on, f"/sms/status?j={j}&part=1&of=1")
        assert (await post(status_url, encoded(CALLBACK), FORM, sandbox.sign(status_url, CALLBACK)))[0] == expected
    warnings = [r for r in caplog.records if r.name == "gateway.transports.sms.webhooks"]
    assert len(warnings) == 1
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    await _settle_with_a_good_one(sandbox, inbox)
    assert [r.body for r in await journal(gateway_on)] == ["nulhere", "the real one"]
