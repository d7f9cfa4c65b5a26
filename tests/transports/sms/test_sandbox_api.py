"""The sandbox's Messages API, driven by the real twilio SDK through the rewriting client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from gateway.transports.sms import sandbox as sandbox_package
from gateway.transports.sms.sandbox import SmsSandbox, magic_number
from gateway.transports.sms.sandbox.magic import API_FAILURES, DELIVERY_FAILURES, NEVER_DELIVERED, SLOW
from gateway.transports.sms.twilio_client import RewritingHttpClient, close_client, make_client
from tests.transports.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, GATEWAY_NUMBER, PHONE, sms_settings


async def test_create_returns_a_message_in_twilios_shape(client: Any, sandbox: SmsSandbox) -> None:
    message = await client.messages.create_async(
        to=PHONE, from_=GATEWAY_NUMBER, body="hello 😀", media_url=["https://example.org/a.png", "https://example.org/b.png"]
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.to, message.from_, message.body) == ("queued", PHONE, GATEWAY_NUMBER, "hello 😀")
    assert (message.num_segments, message.num_media, message.direction) == ("1", "2", "outbound-api")
    assert message.account_sid == ACCOUNT_SID
    assert abs(message.date_created - datetime.now(UTC)) < timedelta(seconds=5)
    assert message.error_code is None
    [stored] = sandbox.sent_to(PHONE)
    assert (stored.sid, stored.media) == (message.sid, ("https://example.org/a.png", "https://example.org/b.png"))


async def test_segments_are_counted(client: Any) -> None:
    message = await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="ж" * 71)
    assert message.num_segments == "2"


async def test_fetch_follows_the_status(client: Any, sandbox: SmsSandbox) -> None:
    created = await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hi")
    await sandbox.idle()
    fetched = await client.messages(created.sid).fetch_async()
    assert (fetched.sid, fetched.status, fetched.body) == (created.sid, "delivered", "hi")
    assert fetched.date_sent is not None


async def test_fetch_unknown_sid_is_20404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as info:
        await client.messages("SM" + "0" * 32).fetch_async()
    assert (info.value.status, info.value.code) == (404, 20404)


async def test_list_by_to_from_and_date(client: Any, sandbox: SmsSandbox) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    mine = [await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body=f"m{i}") for i in range(3)]
    await client.messages.create_async(to="+12025550199", from_=GATEWAY_NUMBER, body="other phone")
    await client.messages.create_async(to=PHONE, from_="+12025550101", body="other sender")
    await sandbox.idle()
    after = datetime.now(UTC) + timedelta(seconds=1)

    listed = await client.messages.list_async(
        to=PHONE, from_=GATEWAY_NUMBER, date_sent_after=before, date_sent_before=after, page_size=2
    )  # page_size 2: the SDK follows next_page_uri, through the rewriting client
    assert [m.sid for m in listed] == [m.sid for m in reversed(mine)]  # newest first, as Twilio lists
    assert len(await client.messages.list_async(to=PHONE)) == 4
    assert len(await client.messages.list_async(from_=GATEWAY_NUMBER)) == 4
    past = await client.messages.list_async(to=PHONE, date_sent_before=before - timedelta(minutes=5))
    future = await client.messages.list_async(to=PHONE, date_sent_after=after + timedelta(minutes=5))
    assert past == [] and future == []


async def test_list_finds_an_unsent_message_by_its_creation_time(client: Any, sandbox: SmsSandbox) -> None:
    sandbox.status_delay = 5  # stays queued: date_sent is null
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="queued")
    listed = await client.messages.list_async(to=PHONE, date_sent_after=before)
    assert [(m.sid, m.status) for m in listed] == [(created.sid, "queued")]


@pytest.mark.parametrize(("number", "failure"), sorted(API_FAILURES.items()))
async def test_magic_numbers_raise_their_error(client: Any, sandbox: SmsSandbox, number: str, failure: Any) -> None:
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=number, from_=GATEWAY_NUMBER, body="hi")
    assert (info.value.status, info.value.code) == (failure.status, failure.code)
    assert sandbox.sent_to(number) == []


@pytest.mark.parametrize(
    ("code", "status"),
    [(21211, 400), (21408, 400), (21602, 400), (21606, 400), (21608, 400), (21610, 400), (21611, 400), (21612, 400),
     (21614, 400), (21635, 400), (20429, 429)],
)
async def test_every_mapped_api_code_has_a_magic_number(client: Any, code: int, status: int) -> None:
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=magic_number(code), from_=GATEWAY_NUMBER, body="hi")
    assert (info.value.status, info.value.code) == (status, code)


async def test_500_on_demand(client: Any) -> None:
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to="+15005500500", from_=GATEWAY_NUMBER, body="hi")
    assert info.value.status == 500


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"body": ""}, 21602),
        ({"body": "x" * 1601}, 21617),
        ({"body": "😀" * 801}, 21617),
        ({"body": "hi", "media_url": [f"https://example.org/{i}.png" for i in range(11)]}, 21623),
        ({"body": "hi", "to": "5551234"}, 21211),
        ({"body": "hi", "from_": "sender"}, 21212),
    ],
)
async def test_bad_requests(client: Any, kwargs: dict[str, Any], code: int) -> None:
    arguments = {"to": PHONE, "from_": GATEWAY_NUMBER} | kwargs
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(**arguments)
    assert (info.value.status, info.value.code) == (400, code)


async def test_media_without_body_is_accepted(client: Any) -> None:
    message = await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, media_url=["https://example.org/a.png"])
    assert message.num_media == "1"


async def test_fail_next_fails_once_then_works(client: Any, sandbox: SmsSandbox) -> None:
    sandbox.fail_next(429, 20429)
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="1")
    assert (info.value.status, info.value.code) == (429, 20429)
    await client.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="2")
    assert [m.body for m in sandbox.sent_to(PHONE)] == ["2"]


async def test_fail_next_on_list(client: Any, sandbox: SmsSandbox) -> None:
    sandbox.fail_next(500, 20500, on="list")
    with pytest.raises(TwilioException):  # the SDK raises the base class (not TwilioRestException) for a list
        await client.messages.list_async(to=PHONE)
    assert await client.messages.list_async(to=PHONE) == []


async def test_wrong_token_is_20003(sandbox: SmsSandbox) -> None:
    twilio = make_client(sms_settings(sandbox.url, auth_token="wrong"))
    try:
        with pytest.raises(TwilioRestException) as info:
            await twilio.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hi")
    finally:
        await close_client(twilio)
    assert (info.value.status, info.value.code) == (401, 20003)
    assert sandbox.messages == []


async def test_another_account_in_the_path_is_20003(sandbox: SmsSandbox) -> None:
    other = "AC" + "e" * 32
    http_client = RewritingHttpClient(sandbox.url, timeout=5)
    twilio = Client(ACCOUNT_SID, AUTH_TOKEN, account_sid=other, http_client=http_client, environment={"_": ""})
    try:
        with pytest.raises(TwilioRestException) as info:
            await twilio.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="hi")
    finally:
        await close_client(twilio)
    assert (info.value.status, info.value.code) == (401, 20003)


async def test_no_credentials_is_20003(sandbox: SmsSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
        body = await answer.json()
    assert answer.status == 401
    assert body == {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401}


async def test_from_outside_the_accounts_numbers_is_21606(receiver: Any) -> None:
    async with SmsSandbox(ACCOUNT_SID, AUTH_TOKEN, numbers=[GATEWAY_NUMBER]) as box:
        twilio = make_client(sms_settings(box.url))
        try:
            await twilio.messages.create_async(to=PHONE, from_=GATEWAY_NUMBER, body="mine")
            with pytest.raises(TwilioRestException) as info:
                await twilio.messages.create_async(to=PHONE, from_="+12025550111", body="not mine")
        finally:
            await close_client(twilio)
    assert info.value.code == 21606


async def test_messaging_service(client: Any, sandbox: SmsSandbox) -> None:
    service = "MG" + "1" * 32
    message = await client.messages.create_async(to=PHONE, messaging_service_sid=service, body="hi")
    assert (message.status, message.messaging_service_sid) == ("accepted", service)
    await sandbox.idle()
    assert (await client.messages(message.sid).fetch_async()).status == "delivered"


async def test_timeout_after_the_message_was_created(sandbox: SmsSandbox) -> None:
    twilio = make_client(sms_settings(sandbox.url, request_timeout=0.3))
    try:
        with pytest.raises(TimeoutError):
            await twilio.messages.create_async(to="+15005500504", from_=GATEWAY_NUMBER, body="slow")
        listed = await twilio.messages.list_async(to="+15005500504", from_=GATEWAY_NUMBER)
    finally:
        await close_client(twilio)
    assert [m.body for m in listed] == ["slow"]


async def test_timeout_before_anything_was_created(sandbox: SmsSandbox) -> None:
    twilio = make_client(sms_settings(sandbox.url, request_timeout=0.3))
    try:
        with pytest.raises(TimeoutError):
            await twilio.messages.create_async(to="+15005500408", from_=GATEWAY_NUMBER, body="lost")
        listed = await twilio.messages.list_async(to="+15005500408")
    finally:
        await close_client(twilio)
    assert listed == []


async def test_never_delivered_stays_sent(client: Any, sandbox: SmsSandbox) -> None:
    message = await client.messages.create_async(to=NEVER_DELIVERED, from_=GATEWAY_NUMBER, body="hi")
    await sandbox.idle()
    assert (await client.messages(message.sid).fetch_async()).status == "sent"


def test_docstring_documents_every_magic_number() -> None:
    doc = sandbox_package.__doc__ or ""
    for number in [*API_FAILURES, *SLOW, *DELIVERY_FAILURES, NEVER_DELIVERED]:
        assert number in doc, number
    for code in [*(f.code for f in API_FAILURES.values()), *(f.code for f in DELIVERY_FAILURES.values())]:
        assert str(code) in doc
