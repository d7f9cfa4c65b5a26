"""TwilioSender through the real twilio SDK against the sandbox: create once, retry only what provably did not
get through, reconcile what may have."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.transports.sms.errors import describe
from gateway.transports.sms.sandbox import SmsSandbox, magic_number
from gateway.transports.sms.sandbox.magic import SLOW
from gateway.transports.sms.sender import Request, Result, TwilioSender
from gateway.transports.sms.twilio_client import close_client, make_client
from tests.transports.sms.conftest import GATEWAY_NUMBER, PHONE, sms_settings

CREATED_SLOWLY = next(number for number, slow in SLOW.items() if slow.created)
NOT_CREATED_SLOWLY = next(number for number, slow in SLOW.items() if not slow.created)
SERVICE = "MG" + "1" * 32


def request(to: str = PHONE, body: str = "hello", sender: str | None = GATEWAY_NUMBER,
            service: str | None = None) -> Request:
    return Request(to=to, body=body, sender=sender, messaging_service_sid=service, media=(),
                   status_callback="http://127.0.0.1:9/sms/status", started=datetime.now(UTC))


@pytest.fixture
async def quick_client(sandbox: SmsSandbox) -> AsyncIterator[Any]:
    """A client that gives up after 0.3 s (the sandbox's slow numbers answer after 2 s)."""
    twilio = make_client(sms_settings(sandbox.url, request_timeout=0.3))
    yield twilio
    await close_client(twilio)


def sender_for(client: Any, known: set[str] | None = None, retries: int = 3) -> TwilioSender:
    async def known_sids(sids: Sequence[str], journal_id: int | None) -> set[str]:
        return {sid for sid in sids if sid in (known or set())}

    return TwilioSender(client, retries=retries, backoff=0.01, known=known_sids)


async def test_a_create_returns_the_sid(client: Any, sandbox: SmsSandbox) -> None:
    outcome = await sender_for(client).create(request())
    [message] = sandbox.sent_to(PHONE)
    assert (outcome.result, outcome.sid) == (Result.CREATED, message.sid)


@pytest.mark.parametrize("code", [21211, 21610, 21614])
async def test_a_4xx_is_refused_with_the_mapped_text(client: Any, sandbox: SmsSandbox, code: int) -> None:
    outcome = await sender_for(client).create(request(to=magic_number(code)))
    assert (outcome.result, outcome.error) == (Result.REFUSED, describe(code))
    assert sandbox.sent() == []


async def test_a_passing_429_is_retried(client: Any, sandbox: SmsSandbox) -> None:
    sandbox.fail_next(429, 20429, count=2)
    outcome = await sender_for(client).create(request())
    assert outcome.result is Result.CREATED
    assert len(sandbox.sent_to(PHONE)) == 1


async def test_a_429_that_stays_is_refused_after_the_retries(client: Any, sandbox: SmsSandbox) -> None:
    outcome = await sender_for(client, retries=2).create(request(to=magic_number(20429)))
    assert (outcome.result, outcome.error) == (Result.REFUSED, describe(20429))


async def test_a_500_is_reconciled_before_trying_again(client: Any, sandbox: SmsSandbox) -> None:
    sandbox.fail_next(500, 20500)
    outcome = await sender_for(client).create(request())
    assert outcome.result is Result.CREATED
    assert [m.sid for m in sandbox.sent_to(PHONE)] == [outcome.sid]


async def test_a_timeout_after_the_message_was_created_finds_it(quick_client: Any, sandbox: SmsSandbox) -> None:
    outcome = await sender_for(quick_client).create(request(to=CREATED_SLOWLY))
    [message] = sandbox.sent_to(CREATED_SLOWLY)
    assert (outcome.result, outcome.sid) == (Result.CREATED, message.sid)


async def test_timeouts_without_a_message_end_refused(quick_client: Any, sandbox: SmsSandbox) -> None:
    outcome = await sender_for(quick_client, retries=1).create(request(to=NOT_CREATED_SLOWLY))
    assert outcome.result is Result.REFUSED
    assert outcome.error is not None and "did not answer" in outcome.error.text
    assert sandbox.sent() == []


async def test_unknown_when_the_list_fails_too(quick_client: Any, sandbox: SmsSandbox) -> None:
    sandbox.fail_next(500, 20500, count=10, on="list")
    outcome = await sender_for(quick_client).create(request(to=CREATED_SLOWLY))
    assert outcome.result is Result.UNKNOWN
    assert len(sandbox.sent_to(CREATED_SLOWLY)) == 1


async def test_maybe_created_asks_first_and_does_not_create_again(client: Any, sandbox: SmsSandbox) -> None:
    first = await sender_for(client).create(request(body="before the crash"))
    again = await sender_for(client).create(request(body="before the crash"), maybe_created=True)
    assert (again.result, again.sid) == (Result.CREATED, first.sid)
    assert len(sandbox.sent_to(PHONE)) == 1


async def test_reconciliation_skips_known_and_excluded_sids(client: Any, sandbox: SmsSandbox) -> None:
    first = await sender_for(client).create(request(body="ok"))
    assert first.sid is not None
    for sender, exclude in ((sender_for(client, known={first.sid}), set()),
                            (sender_for(client), {first.sid})):
        found = await sender.reconcile(request(body="ok"), exclude)
        assert found is None  # the only "ok" Twilio has is another text's
    second = await sender_for(client, known={first.sid}).create(request(body="ok"), maybe_created=True)
    assert second.result is Result.CREATED and second.sid != first.sid
    assert len(sandbox.sent_to(PHONE)) == 2


async def test_a_messaging_service_is_named_in_the_create(client: Any, sandbox: SmsSandbox) -> None:
    await sender_for(client).create(request(body="from our number via the service", service=SERVICE))
    await sender_for(client).create(request(body="from the service's pool", sender=None, service=SERVICE))
    sent = sandbox.sent_to(PHONE)
    assert [(m.from_, m.messaging_service_sid) for m in sent] == [(GATEWAY_NUMBER, SERVICE),
                                                                  (sent[1].from_, SERVICE)]
    found = await sender_for(client).reconcile(request(body="from the service's pool", sender=None,
                                                       service=SERVICE))
    assert found is not None and found.sid == sent[1].sid
    assert await sender_for(client).reconcile(request(body="from the service's pool", sender=None,
                                                      service="MG" + "2" * 32)) is None


async def test_requests_in_flight_are_bounded_and_a_waiting_one_times_out_from_its_start(
        quick_client: Any, sandbox: SmsSandbox) -> None:
    """Two requests at once at most; the third waits its turn without its 0.3 s timeout running, so it is not
    taken for a request Twilio did not answer."""
    sandbox.slow_delay = 0.2  # the slow number creates the message, then answers 0.2 s later
    sender = TwilioSender(quick_client, retries=0, backoff=0.01, max_requests=2)
    creates = [asyncio.create_task(sender.create(request(to=CREATED_SLOWLY, body=f"m{n}"))) for n in range(3)]
    await asyncio.sleep(0.1)
    assert len(sandbox.sent_to(CREATED_SLOWLY)) == 2
    outcomes = await asyncio.gather(*creates)
    assert [o.result for o in outcomes] == [Result.CREATED] * 3
    assert sorted(m.body for m in sandbox.sent_to(CREATED_SLOWLY)) == ["m0", "m1", "m2"]
    assert len(sandbox.messages) == 3, "nothing was created twice"
