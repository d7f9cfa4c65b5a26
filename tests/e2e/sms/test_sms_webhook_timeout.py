"""A webhook that cannot be stored in time (the database is locked) is answered 503 before Twilio gives up, so
that Twilio turns to the number's fallback URL; the gateway goes on storing it, and neither that nor a retry of
the same request (during or after) delivers it twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from slixmpp import JID
from sqlalchemy.engine import make_url

from gateway.core.events import Direction, Status
from gateway.transports.sms.sandbox.magic import NEVER_DELIVERED
from gateway.transports.sms.webhooks import SmsWebhooks
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SmsStack
from tests.e2e.sms.support import (
    Inbox,
    RecordingSandbox,
    inbound_params,
    jid,
    journal,
    post_form,
    send_text,
    webhook_url,
)
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

TIMEOUT = 1.0  # the test's store timeout (the gateway's is 10 s): a locked database must not hold the answer


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


@pytest.fixture(autouse=True)
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmsWebhooks, "store_timeout", TIMEOUT, raising=False)


@asynccontextmanager
async def locked(database_url: str) -> AsyncIterator[None]:
    """Another process's write transaction on the gateway's SQLite file: every write waits (busy_timeout 30 s)."""
    # It waits its turn as the gateway's own writes do, in a thread: the gateway runs on this test's event loop,
    # and a write of its own under way (at start-up, say) could not finish while the loop waited here.
    connection = sqlite3.connect(str(make_url(database_url).database), isolation_level=None, timeout=30,
                                 check_same_thread=False)
    try:
        await asyncio.to_thread(connection.execute, "BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def _settled(alice: TestClient, number: str) -> None:
    await asyncio.wait_for(alice.plugin["xep_0199"].ping(JID(jid(number))), 5)


def test_the_store_timeout_leaves_time_before_twilio_gives_up() -> None:
    assert SmsWebhooks.store_timeout == TIMEOUT  # patched here; the gateway's own:
    from gateway.transports.sms import webhooks
    assert webhooks.STORE_TIMEOUT == 10.0


async def test_an_inbound_text_that_cannot_be_stored_in_time_gets_503_and_arrives_once(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    url = webhook_url(running)
    params = inbound_params(PEER, ALICE_NUMBER, "while the database is locked", "SM" + "1" * 32)
    signature = sandbox.sign(url, params)
    async with locked(sms_stack.database_url):
        for _ in range(2):  # Twilio's request, then a retry of it while the first is still being stored
            started = time.monotonic()
            status, _ = await asyncio.wait_for(post_form(url, params, signature), TIMEOUT + 5)
            assert status == 503
            assert time.monotonic() - started < TIMEOUT + 2
    await inbox.wait_for(lambda m: m["body"] == "while the database is locked")
    assert (await post_form(url, params, signature))[0] == 200  # a retry once it is stored: acknowledged
    await _settled(alice, PEER)
    assert inbox.bodies_from(jid(PEER)) == ["while the database is locked"]

    async def delivered() -> bool:  # the mark is bookkeeping, written a few milliseconds after the delivery
        return [r.status for r in await journal(running, Direction.IN)] == [Status.DELIVERED]

    await wait_until(delivered, timeout=5)


async def test_a_status_callback_that_cannot_be_stored_in_time_gets_503_and_is_applied_once(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start()
    inbox = Inbox(alice)
    send_text(alice, NEVER_DELIVERED, "hello", "s-1", receipt=True)
    await wait_until(lambda: sandbox.sent_to(NEVER_DELIVERED))
    await sandbox.idle()
    [message] = sandbox.sent_to(NEVER_DELIVERED)
    async with locked(sms_stack.database_url):
        attempts = await sandbox.report_status(message.sid, "delivered")  # the sandbox retries, as Twilio may
        assert [a.status for a in attempts] == [503] * sandbox.webhook_attempts
    await inbox.wait_for(lambda m: m["receipt"] == "s-1")
    await _settled(alice, NEVER_DELIVERED)
    assert len(inbox.matching(lambda m: bool(m["receipt"]))) == 1
    assert [r.status for r in await journal(running, Direction.OUT)] == [Status.DELIVERED]
