"""SmsWebhooks on its own: signatures checked against the public URL and every parameter, fail closed, 400 on
missing or malformed parameters, and the transport called with what Twilio sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.transports.sms.webhooks import EMPTY_TWIML, SmsWebhooks
from tests.transports.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, GATEWAY_NUMBER, PHONE, sms_settings

PUBLIC = "https://gateway.example.org/twilio"  # behind a proxy that strips /twilio


class FakeTransport:
    def __init__(self) -> None:
        self.inbound_calls: list[tuple[Any, ...]] = []
        self.status_calls: list[tuple[Any, ...]] = []
        self.fail = False

    async def inbound(self, *args: Any) -> None:
        if self.fail:
            raise RuntimeError("the database is gone")
        self.inbound_calls.append(args)

    async def status(self, *args: Any) -> None:
        self.status_calls.append(args)


class Server:
    def __init__(self, transport: FakeTransport, base: str) -> None:
        self.transport, self.local = transport, base

    async def post(self, path: str, params: dict[str, str], signature: str | None = None,
                   signed_url: str | None = None) -> tuple[int, str]:
        if signature is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url or PUBLIC + path, params)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        async with aiohttp.ClientSession() as session, \
                session.post(self.local + path, data=params, headers=headers) as response:
            return response.status, await response.text()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    transport = FakeTransport()
    webhooks = SmsWebhooks(sms_settings("http://127.0.0.1:9"), PUBLIC + "/", transport)  # type: ignore[arg-type]
    app = web.Application()
    app.add_routes(webhooks.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield Server(transport, f"http://{host}:{port}")
    await runner.cleanup()


def inbound(**extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, "From": PHONE, "To": GATEWAY_NUMBER, "Body": "hi", "MessageSid": "SM1",
            "NumMedia": "0", **extra}


async def test_a_signed_inbound_text_reaches_the_transport(server: Server) -> None:
    params = inbound(NumMedia="2", MediaUrl0="https://m.example/a.jpg", MediaUrl1="https://m.example/b.jpg",
                     MediaContentType0="image/jpeg", MediaContentType1="image/jpeg")
    assert await server.post("/sms/inbound", params) == (200, EMPTY_TWIML)
    assert server.transport.inbound_calls == [
        (PHONE, GATEWAY_NUMBER, "hi", "SM1", ("https://m.example/a.jpg", "https://m.example/b.jpg"))]


async def test_the_signature_is_checked_against_the_public_url(server: Server) -> None:
    params = inbound()
    status, _ = await server.post("/sms/inbound", params, signed_url=server.local + "/sms/inbound")
    assert status == 403  # what the gateway sees locally is not what Twilio called
    assert server.transport.inbound_calls == []


@pytest.mark.parametrize("change", [
    {"Body": "tampered"}, {"From": "+12025550999"}, {"MediaUrl0": "https://evil.example/x"},
])
async def test_a_changed_parameter_breaks_the_signature(server: Server, change: dict[str, str]) -> None:
    params = inbound()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/sms/inbound", params)
    assert (await server.post("/sms/inbound", {**params, **change}, signature))[0] == 403
    assert server.transport.inbound_calls == []


@pytest.mark.parametrize("signature", ["", "AAAA", "c2lnbmVkIHdpdGggYW5vdGhlciB0b2tlbg=="])
async def test_missing_or_forged_signatures_get_403(server: Server, signature: str) -> None:
    for path in ("/sms/inbound", "/sms/status?j=1&part=1&of=1"):
        status, text = await server.post(path, inbound(MessageStatus="delivered"), signature)
        assert status == 403 and "X-Twilio-Signature" in text
    assert server.transport.inbound_calls == server.transport.status_calls == []


async def test_another_account_gets_403(server: Server) -> None:
    status, text = await server.post("/sms/inbound", inbound(AccountSid="AC" + "0" * 32))
    assert status == 403 and "account" in text
    assert server.transport.inbound_calls == []


@pytest.mark.parametrize(("path", "params", "detail"), [
    ("/sms/inbound", {"AccountSid": ACCOUNT_SID, "To": GATEWAY_NUMBER, "MessageSid": "SM1"}, "From"),
    ("/sms/inbound", inbound(NumMedia="x"), "NumMedia"),
    ("/sms/status?j=1&part=1&of=1", {"AccountSid": ACCOUNT_SID}, "MessageStatus"),
    ("/sms/status", {"AccountSid": ACCOUNT_SID, "MessageStatus": "sent"}, "j, part and of"),
    ("/sms/status?j=1&part=one&of=1", {"AccountSid": ACCOUNT_SID, "MessageStatus": "sent"}, "j, part and of"),
])
async def test_missing_or_malformed_parameters_get_400(server: Server, path: str, params: dict[str, str],
                                                       detail: str) -> None:
    status, text = await server.post(path, params)
    assert status == 400 and detail in text
    assert server.transport.inbound_calls == server.transport.status_calls == []


async def test_a_status_callback_reaches_the_transport(server: Server) -> None:
    params = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003",
              "From": GATEWAY_NUMBER, "To": PHONE}
    assert await server.post("/sms/status?j=7&part=2&of=3", params) == (200, EMPTY_TWIML)
    assert server.transport.status_calls == [(7, 2, 3, "undelivered", 30003, GATEWAY_NUMBER)]


async def test_a_text_that_cannot_be_stored_is_not_acknowledged(server: Server) -> None:
    server.transport.fail = True
    status, _ = await server.post("/sms/inbound", inbound())
    assert status == 500  # Twilio tries again later
