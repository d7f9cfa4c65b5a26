"""Signed status callbacks and inbound webhooks, checked by a receiver with twilio's RequestValidator."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from gateway.transports.sms.sandbox import SmsSandbox, run_sandbox
from gateway.transports.sms.sandbox.magic import DELIVERY_FAILURES
from tests.transports.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, GATEWAY_NUMBER, PHONE, WebhookReceiver


async def test_status_callbacks_are_signed_and_in_order(
    client: Any, sandbox: SmsSandbox, receiver: WebhookReceiver
) -> None:
    message = await client.messages.create_async(
        to=PHONE, from_=GATEWAY_NUMBER, body="hi", status_callback=receiver.url("status")
    )
    await sandbox.idle()
    callbacks = receiver.of("status")
    assert [c.params["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    for callback in callbacks:
        assert callback.valid
        assert callback.params["MessageSid"] == callback.params["SmsSid"] == message.sid
        assert (callback.params["AccountSid"], callback.params["From"], callback.params["To"]) == (
            ACCOUNT_SID, GATEWAY_NUMBER, PHONE)
        assert "ErrorCode" not in callback.params


async def test_tampered_or_foreign_callbacks_fail_validation(
    client: Any, sandbox: SmsSandbox, receiver: WebhookReceiver
) -> None:
    callback = receiver.url("status")
    await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hi", status_callback=callback)
    await sandbox.idle()
    genuine = receiver.of("status")[-1]
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.validate(genuine.url, genuine.params, genuine.signature)
    tampered = genuine.params | {"MessageStatus": "failed"}
    assert not validator.validate(genuine.url, tampered, genuine.signature)
    assert not validator.validate(genuine.url.replace("/status", "/other"), genuine.params, genuine.signature)
    assert not RequestValidator("another-token").validate(genuine.url, genuine.params, genuine.signature)
    assert not validator.validate(genuine.url, genuine.params, "")


@pytest.mark.parametrize(("number", "failure"), sorted(DELIVERY_FAILURES.items()))
async def test_delivery_failures(client: Any, sandbox: SmsSandbox, receiver: WebhookReceiver, number: str,
                                 failure: Any) -> None:
    message = await client.messages.create_async(
        to=number, from_=GATEWAY_NUMBER, body="hi", status_callback=receiver.url("status")
    )
    assert message.status == "queued"  # accepted by the API: the failure comes later
    await sandbox.idle()
    callbacks = receiver.of("status")
    expected = ["failed"] if failure.status == "failed" else ["sent", "undelivered"]
    assert [c.params["MessageStatus"] for c in callbacks] == expected
    assert all(c.valid for c in callbacks)
    assert callbacks[-1].params["ErrorCode"] == str(failure.code)
    fetched = await client.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == (failure.status, failure.code)


async def test_every_mapped_delivery_code_has_a_magic_number() -> None:
    assert {f.code for f in DELIVERY_FAILURES.values()} >= {30001, 30003, 30004, 30005, 30006, 30007, 30008}


async def test_messaging_service_callbacks_include_the_service(client: Any, sandbox: SmsSandbox,
                                                               receiver: WebhookReceiver) -> None:
    service = "MG" + "2" * 32
    await client.messages.create_async(
        to=PHONE, messaging_service_sid=service, body="hi", status_callback=receiver.url("status")
    )
    await sandbox.idle()
    callbacks = receiver.of("status")
    assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sent", "delivered"]
    assert all(c.valid and c.params["MessagingServiceSid"] == service for c in callbacks)


async def test_inbound_webhook_is_signed(sandbox: SmsSandbox, receiver: WebhookReceiver) -> None:
    result = await sandbox.send_inbound("+447700900123", GATEWAY_NUMBER, "hello 👋",
                                        media=["https://example.org/cat.jpg", "https://example.org/a.pdf"])
    assert (result.delivered, result.attempts, result.status) == (True, 1, 200)
    [webhook] = receiver.of("inbound")
    assert webhook.valid
    params = webhook.params
    assert (params["MessageSid"], params["SmsMessageSid"]) == (result.sid, result.sid)
    assert params["AccountSid"] == ACCOUNT_SID
    assert (params["From"], params["To"], params["Body"], params["NumMedia"]) == (
        "+447700900123", GATEWAY_NUMBER, "hello 👋", "2")
    assert (params["MediaUrl0"], params["MediaContentType0"]) == ("https://example.org/cat.jpg", "image/jpeg")
    assert (params["MediaUrl1"], params["MediaContentType1"]) == ("https://example.org/a.pdf", "application/pdf")
    assert "MessagingServiceSid" not in params
    assert [m.sid for m in sandbox.received()] == [result.sid]


async def test_inbound_is_retried_on_non_2xx_with_the_same_sid(sandbox: SmsSandbox, receiver: WebhookReceiver) -> None:
    receiver.answers = [500, 403]
    result = await sandbox.send_inbound(PHONE, GATEWAY_NUMBER, "again")
    assert (result.delivered, result.attempts) == (True, 3)
    webhooks = receiver.of("inbound")
    assert len(webhooks) == 3
    assert {w.params["MessageSid"] for w in webhooks} == {result.sid}
    assert len({w.idempotency_token for w in webhooks}) == 1 and webhooks[0].idempotency_token
    assert all(w.valid for w in webhooks)


async def test_inbound_gives_up_after_the_last_attempt(sandbox: SmsSandbox, receiver: WebhookReceiver) -> None:
    receiver.answers = [503, 503, 503, 503]
    result = await sandbox.send_inbound(PHONE, GATEWAY_NUMBER, "nobody home")
    assert (result.delivered, result.attempts, result.status) == (False, 3, 503)


async def test_inbound_to_an_unreachable_webhook() -> None:
    async with SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:9/sms", retry_delay=0.01) as box:
        result = await box.send_inbound(PHONE, GATEWAY_NUMBER, "hi")
    assert (result.delivered, result.attempts, result.status) == (False, 3, None)
    assert all(attempt.error for attempt in box.webhook_log)


async def test_inbound_without_webhook_is_only_kept() -> None:
    async with SmsSandbox(ACCOUNT_SID, AUTH_TOKEN) as box:
        result = await box.send_inbound(PHONE, GATEWAY_NUMBER, "hi")
        assert not result.delivered and [m.body for m in box.received()] == ["hi"]


async def test_inbound_refuses_non_e164_numbers(sandbox: SmsSandbox) -> None:
    with pytest.raises(ValueError, match="From"):
        await sandbox.send_inbound("555-1234", GATEWAY_NUMBER, "hi")


async def test_inbound_with_the_sandbox_messaging_service(receiver: WebhookReceiver) -> None:
    service = "MG" + "3" * 32
    async with SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, receiver.url("inbound"), messaging_service_sid=service) as box:
        await box.send_inbound(PHONE, GATEWAY_NUMBER, "hi")
    [webhook] = receiver.of("inbound")
    assert webhook.valid and webhook.params["MessagingServiceSid"] == service


async def test_inbound_http_endpoint(sandbox: SmsSandbox, receiver: WebhookReceiver) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.post(f"{sandbox.url}/sandbox/inbound",
                                 json={"From": PHONE, "To": GATEWAY_NUMBER, "Body": "via http"})
        result = await answer.json()
        bad = await http.post(f"{sandbox.url}/sandbox/inbound", data={"From": "x", "To": GATEWAY_NUMBER, "Body": "b"})
    assert answer.status == 200 and result["delivered"] is True
    [webhook] = receiver.of("inbound")
    assert webhook.valid and webhook.params["Body"] == "via http" and webhook.params["MessageSid"] == result["sid"]
    assert bad.status == 400


async def test_fail_next_http_endpoint(client: Any, sandbox: SmsSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.post(f"{sandbox.url}/sandbox/fail-next", data={"status": "429", "code": "20429"})
    assert answer.status == 200
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hi")
    assert (info.value.status, info.value.code) == (429, 20429)


async def test_phone_page_shows_texts_and_sends_replies(client: Any, sandbox: SmsSandbox,
                                                        receiver: WebhookReceiver) -> None:
    await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="first <b>")
    await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="second")
    async with aiohttp.ClientSession() as http:
        page = await (await http.get(sandbox.url + "/")).text()
        section = page[page.index('id="phone-12025550123"'):]
        assert section.index("first &lt;b&gt;") < section.index("second")  # escaped, newest last
        assert 'id="reply-form-12025550123"' in section and f'value="{GATEWAY_NUMBER}"' in section
        answer = await http.post(sandbox.url + "/phone/reply",
                                 data={"From": PHONE, "To": GATEWAY_NUMBER, "Body": "a reply"}, allow_redirects=False)
        assert answer.status == 303
        page = await (await http.get(sandbox.url + answer.headers["Location"])).text()
    assert 'id="reply-status" data-result="delivered"' in page
    assert "a reply" in page[page.index('id="phone-12025550123"'):]
    [webhook] = receiver.of("inbound")
    assert webhook.valid and (webhook.params["From"], webhook.params["Body"]) == (PHONE, "a reply")


async def test_run_sandbox_serves_until_cancelled(receiver: WebhookReceiver) -> None:
    ready: asyncio.Queue[SmsSandbox] = asyncio.Queue()
    task = asyncio.create_task(
        run_sandbox("127.0.0.1", 0, ACCOUNT_SID, AUTH_TOKEN, receiver.url("inbound"), on_ready=ready.put_nowait)
    )
    box = await asyncio.wait_for(ready.get(), 5)
    url = box.url
    async with aiohttp.ClientSession() as http:
        assert (await http.get(url + "/")).status == 200
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(url + "/")
