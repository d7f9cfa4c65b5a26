"""SmsWebhooks on its own: signatures checked against the public URL and every parameter, fail closed, 400 on
missing or malformed parameters, and the transport called with what Twilio sent. Hostile requests, signed or
not, get a 4xx with a reason and one warning in the log, never a 500 or a stall."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from gateway.transports.sms.webhook_form import FORM_TYPE as FORM
from gateway.transports.sms.webhook_form import MAX_BODY, MAX_FIELDS
from gateway.transports.sms.webhooks import EMPTY_TWIML, MAX_PARTS, SmsWebhooks
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
    assert server.transport.status_calls == [(7, 2, 3, "undelivered", 30003, GATEWAY_NUMBER, "SM1")]


async def test_a_replacement_character_that_was_sent_is_kept_and_one_from_bad_bytes_is_refused(
        server: Server) -> None:
    # The strict reading is skipped only where the lenient one replaced nothing (webhook_form.Form.parse).
    sent = form(**inbound(Body="\ufffd is a character too"))
    assert (await post_raw(server, "/sms/inbound", sent))[0] == 200
    assert server.transport.inbound_calls[-1][2] == "\ufffd is a character too"
    status, reason = await post_raw(server, "/sms/inbound", form(**inbound(Body="\ufffd")) + b"&x=%FF")
    assert status == 400 and "UTF-8" in reason


async def test_a_text_that_cannot_be_stored_is_not_acknowledged(server: Server) -> None:
    server.transport.fail = True
    status, _ = await server.post("/sms/inbound", inbound())
    assert status == 500  # Twilio tries again later


# -- hostile requests: a 4xx with a reason and one warning, never a 500 or a stall -------------------------------
def sign_body(url: str, body: bytes) -> str:
    """The signature over `body`'s fields as Twilio's algorithm sees them (every value of a repeated name)."""
    fields = MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"))
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, fields))


async def post_raw(server: Server, path: str, body: bytes, content_type: str = FORM,
                   signature: str | None = "sign") -> tuple[int, str]:
    """POST `body` as it is; signature "sign": a valid one over it, None: no header."""
    headers = {"Content-Type": content_type}
    if signature == "sign":
        signature = sign_body(PUBLIC + path, body)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with aiohttp.ClientSession() as session, \
            session.post(server.local + path, data=body, headers=headers) as response:
        return response.status, await response.text()


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


STATUS = "/sms/status?j=7&part=1&of=1"
INVALID_UTF8 = form(**inbound()) + b"&Body=caf%C3%A9%FF"
BROKEN_MULTIPART = b"--zzz\r\nContent-Disposition: form-data; name=\"Body\"\r\n\r\nhi"  # no closing boundary


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def assert_refused_once(caplog: pytest.LogCaptureFixture, route: str, reason: str) -> None:
    """Exactly one log line: a warning naming the route and the reason, without a traceback."""
    assert [(r.levelno, r.exc_info) for r in caplog.records] == [(logging.WARNING, None)], caplog.text
    assert route in caplog.records[0].getMessage() and reason in caplog.records[0].getMessage()
    caplog.clear()


@pytest.mark.parametrize(("what", "body", "content_type"), [
    ("invalid UTF-8", INVALID_UTF8, FORM),
    ("raw invalid UTF-8", form(**inbound()) + b"&Body=\xff\xfe", FORM),
    ("unknown charset", form(**inbound()), FORM + "; charset=x-no-such-charset"),
    ("broken multipart", BROKEN_MULTIPART, "multipart/form-data; boundary=zzz"),
])
@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl"])
async def test_unsigned_hostile_bodies_get_403_before_they_are_parsed(
        server: Server, warnings: pytest.LogCaptureFixture, what: str, body: bytes, content_type: str,
        signature: str | None) -> None:
    status, text = await post_raw(server, "/sms/inbound", body, content_type, signature)
    assert status == 403 and "X-Twilio-Signature" in text, what
    assert_refused_once(warnings, "/sms/inbound", "X-Twilio-Signature")
    assert server.transport.inbound_calls == []


@pytest.mark.parametrize(("what", "body", "content_type", "expected", "reason"), [
    ("invalid UTF-8 in an escape", INVALID_UTF8, FORM, 400, "UTF-8"),
    ("raw invalid UTF-8", form(**inbound()) + b"&Body=\xff\xfe", FORM, 400, "UTF-8"),
    ("unknown charset", form(**inbound()), FORM + "; charset=x-no-such-charset", 415, "charset"),
    ("latin-1", form(**inbound()), FORM + "; charset=latin-1", 415, "charset"),
    ("broken multipart", BROKEN_MULTIPART, "multipart/form-data; boundary=zzz", 415, FORM),
    ("JSON", b'{"Body": "hi"}', "application/json", 415, FORM),
    ("NumMedia superscript two", form(**inbound(NumMedia="\u00b2")), FORM, 400, "NumMedia"),
    ("NumMedia Arabic-Indic digit", form(**inbound(NumMedia="\u0663")), FORM, 400, "NumMedia"),
    ("NumMedia ten million", form(**inbound(NumMedia="10000000")), FORM, 400, "NumMedia"),
    ("NumMedia eleven", form(**inbound(NumMedia="11")), FORM, 400, "NumMedia"),
    ("NumMedia negative", form(**inbound(NumMedia="-1")), FORM, 400, "NumMedia"),
    ("repeated From", form(**inbound()) + b"&From=%2B12025550999", FORM, 400, "From is repeated"),
    ("repeated MediaUrl0", form(**inbound(NumMedia="1", MediaUrl0="https://m.example/a.jpg"))
     + b"&MediaUrl0=https%3A%2F%2Fevil.example%2Fx", FORM, 400, "MediaUrl0 is repeated"),
    ("long MessageSid", form(**inbound(MessageSid="SM" + "1" * 100)), FORM, 400, "MessageSid"),
    ("long From", form(**inbound(From="+1" * 50)), FORM, 400, "From"),
    ("long Body", form(**inbound(Body="x" * 9000)), FORM, 400, "longer than"),
    ("NUL in From", form(**inbound(From="+1202555\u0000")), FORM, 400, "NUL"),
    ("empty MessageSid", form(**inbound(MessageSid="")), FORM, 400, "MessageSid"),
])
async def test_signed_hostile_inbound_texts_get_4xx_with_a_reason(
        server: Server, warnings: pytest.LogCaptureFixture, what: str, body: bytes, content_type: str,
        expected: int, reason: str) -> None:
    status, text = await post_raw(server, "/sms/inbound", body, content_type)
    assert (status, reason in text) == (expected, True), (what, text)
    assert_refused_once(warnings, "/sms/inbound", reason)
    assert server.transport.inbound_calls == []


def callback(**extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, "MessageSid": "SM1", "MessageStatus": "undelivered", "From": GATEWAY_NUMBER,
            **extra}


@pytest.mark.parametrize(("what", "path", "fields", "reason"), [
    ("ErrorCode superscript two", STATUS, callback(ErrorCode="\u00b2"), "ErrorCode"),
    ("ErrorCode of seven digits", STATUS, callback(ErrorCode="1234567"), "ErrorCode"),
    ("ErrorCode fullwidth digits", STATUS, callback(ErrorCode="\uff13\uff10"), "ErrorCode"),
    ("j past 63 bits", "/sms/status?j=999999999999999999999&part=1&of=1", callback(), "j is not a number"),
    ("j of 2**63", f"/sms/status?j={2**63}&part=1&of=1", callback(), "j is not a number"),
    ("j zero", "/sms/status?j=0&part=1&of=1", callback(), "j is not a number"),
    ("j superscript", "/sms/status?j=%C2%B2&part=1&of=1", callback(), "j is not a number"),
    ("j invalid UTF-8", "/sms/status?j=%FF&part=1&of=1", callback(), "j is not a number"),
    ("j repeated", "/sms/status?j=1&j=2&part=1&of=1", callback(), "j is repeated"),
    ("part past of", "/sms/status?j=1&part=3&of=2", callback(), "part is not a number"),
    ("part zero", "/sms/status?j=1&part=0&of=2", callback(), "part is not a number"),
    ("of too many", f"/sms/status?j=1&part=1&of={MAX_PARTS + 1}", callback(), "of is not a number"),
    ("long MessageStatus", STATUS, callback(MessageStatus="x" * 100), "MessageStatus"),
])
async def test_signed_hostile_status_callbacks_get_400_with_a_reason(
        server: Server, warnings: pytest.LogCaptureFixture, what: str, path: str, fields: dict[str, str],
        reason: str) -> None:
    status, text = await post_raw(server, path, form(**fields))
    assert (status, reason in text) == (400, True), (what, text)
    assert_refused_once(warnings, "/sms/status", reason)
    assert server.transport.status_calls == []


async def test_a_missing_signature_is_refused_without_reading_the_body(
        server: Server, warnings: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(*server.local.removeprefix("http://").split(":"))
    writer.write(b"POST /sms/inbound HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
                 + b"\r\nContent-Length: 1000000\r\n\r\nBody=")  # the rest of the body never comes
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 403 ")
    assert_refused_once(warnings, "/sms/inbound", "no X-Twilio-Signature")


@pytest.mark.parametrize("signature", ["sign", "bm90IGEgc2lnbmF0dXJl"])
async def test_a_body_over_64_kib_gets_413(server: Server, warnings: pytest.LogCaptureFixture,
                                           signature: str) -> None:
    body = form(**inbound(Padding="x" * MAX_BODY))
    status, text = await post_raw(server, "/sms/inbound", body, signature=signature)
    assert status == 413 and str(MAX_BODY) in text
    assert_refused_once(warnings, "/sms/inbound", "larger than")
    assert server.transport.inbound_calls == []


async def test_too_many_parameters_get_400(server: Server, warnings: pytest.LogCaptureFixture) -> None:
    body = form(**inbound(**{f"X{i}": "" for i in range(MAX_FIELDS)}))
    status, text = await post_raw(server, "/sms/inbound", body)
    assert status == 400 and "parameters" in text
    assert_refused_once(warnings, "/sms/inbound", str(MAX_FIELDS))


async def test_a_broken_content_encoding_gets_400(server: Server) -> None:
    body = form(**inbound())
    headers = {"Content-Type": FORM, "Content-Encoding": "gzip",
               "X-Twilio-Signature": sign_body(PUBLIC + "/sms/inbound", body)}
    async with aiohttp.ClientSession() as session, \
            session.post(server.local + "/sms/inbound", data=body, headers=headers) as response:
        assert response.status == 400 and "could not be read" in await response.text()
    assert server.transport.inbound_calls == []


async def test_a_nul_in_a_body_is_dropped_and_the_text_kept(server: Server) -> None:
    assert (await server.post("/sms/inbound", inbound(Body="a\0b")))[0] == 200
    [call] = server.transport.inbound_calls
    assert call[2] == "ab"


async def test_valid_requests_still_pass_the_strict_rules(server: Server) -> None:
    """Twilio's own spellings: a charset, empty NumMedia and ErrorCode, repeated fields we do not read,
    ten media, MediaUrls past NumMedia ignored, the largest j and part = of."""
    params = [*inbound(NumMedia="10").items(), *((f"MediaUrl{i}", f"https://m.example/{i}") for i in range(11)),
              ("AddOns", "a"), ("AddOns", "b")]
    body = urlencode(params).encode()
    status, _ = await post_raw(server, "/sms/inbound", body, FORM + "; charset=UTF-8")
    assert status == 200
    assert server.transport.inbound_calls[-1][4] == tuple(f"https://m.example/{i}" for i in range(10))
    assert (await post_raw(server, "/sms/inbound", form(**inbound(NumMedia="", Body="caf\u00e9 \U0001f600"))))[0] == 200
    assert server.transport.inbound_calls[-1][2:4] == ("caf\u00e9 \U0001f600", "SM1")
    path = f"/sms/status?j={2**63 - 1}&part={MAX_PARTS}&of={MAX_PARTS}"
    assert (await post_raw(server, path, form(**callback(ErrorCode="", MessageStatus="delivered"))))[0] == 200
    assert server.transport.status_calls == [
        (2**63 - 1, MAX_PARTS, MAX_PARTS, "delivered", None, GATEWAY_NUMBER, "SM1")]
