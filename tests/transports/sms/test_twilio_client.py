from __future__ import annotations

import asyncio
import time

import pytest

from gateway.transports.sms.sandbox import SmsSandbox
from gateway.transports.sms.twilio_client import close_client, make_client, rewrite_url
from tests.transports.sms.conftest import ACCOUNT_SID, GATEWAY_NUMBER, PHONE, sms_settings

API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (API + "?To=%2B1&Page=1", "http://127.0.0.1:8088", f"http://127.0.0.1:8088{API[22:]}?To=%2B1&Page=1"),
        (API, "http://127.0.0.1:8088/twilio", f"http://127.0.0.1:8088/twilio{API[22:]}"),
        ("https://api.sydney.au1.twilio.com/x.json", "http://localhost:1", "http://localhost:1/x.json"),
        ("https://messaging.twilio.com/v1/Services", "https://sandbox.example", "https://sandbox.example/v1/Services"),
        ("https://example.org/media.png", "http://127.0.0.1:8088", "https://example.org/media.png"),
        ("https://nottwilio.com/x", "http://127.0.0.1:8088", "https://nottwilio.com/x"),
    ],
)
def test_rewrite_url(url: str, base: str, expected: str) -> None:
    assert rewrite_url(url, base) == expected


async def test_requests_reach_the_configured_base_url(sandbox: SmsSandbox) -> None:
    twilio = make_client(sms_settings(sandbox.url))
    try:
        message = await twilio.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hello")
    finally:
        await close_client(twilio)
    assert [m.sid for m in sandbox.sent_to(PHONE)] == [message.sid]


async def test_environment_cannot_redirect_the_client(monkeypatch: pytest.MonkeyPatch, sandbox: SmsSandbox) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "f" * 32)
    twilio = make_client(sms_settings(sandbox.url))
    try:
        assert (twilio.edge, twilio.region, twilio.account_sid) == (None, None, ACCOUNT_SID)
    finally:
        await close_client(twilio)


async def test_request_timeout_is_honoured(sandbox: SmsSandbox) -> None:
    sandbox.slow_delay = 3.0
    twilio = make_client(sms_settings(sandbox.url, request_timeout=0.3))
    started = time.monotonic()
    try:
        with pytest.raises(asyncio.TimeoutError):
            await twilio.messages.create_async(to="+15005500504", from_=GATEWAY_NUMBER, body="slow")
    finally:
        await close_client(twilio)
    assert time.monotonic() - started < 2.0
