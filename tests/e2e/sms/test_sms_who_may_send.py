"""Who may send and who receives: bound numbers only (never an open relay), shared lines, numbers bound to
nobody, blocked numbers, the default sending number, and the daily segment limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.devstack.prosody import ProsodyServer
from gateway.transports.sms.segments import count_segments
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, jid, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

OTHER_PHONE = "+12025550124"
NOBODYS_NUMBER = "+12025550199"  # one of our Twilio numbers, bound to no user


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


@pytest.fixture
async def bob(prosody: ProsodyServer) -> AsyncIterator[TestClient]:
    client = TestClient(prosody.register("bob", "bob-password"), "bob-password")
    await client.start(port=prosody.c2s_port)
    yield client
    await client.stop()


async def test_a_user_without_a_bound_number_cannot_send(gateway: Gateway, sandbox: RecordingSandbox,
                                                         bob: TestClient) -> None:
    """Access is open, so bob may use the gateway, but no number is bound to him: nothing may go out."""
    assert gateway.store is not None
    inbox = Inbox(bob)
    send_text(bob, PEER, "relay this for me", "bob-1")
    condition, text = error_of(await inbox.error_for("bob-1"))
    assert condition == "forbidden"
    assert "No phone number is bound to your account" in text
    # A user of the gateway, still without a number: the same.
    await gateway.store.users.add("bob@localhost")
    send_text(bob, PEER, "and now?", "bob-2")
    assert error_of(await inbox.error_for("bob-2"))[0] == "forbidden"
    assert sandbox.api_calls == []
    rows = await journal(gateway, Direction.OUT)
    assert [(r.user_jid, r.status) for r in rows] == [("bob@localhost", Status.FAILED)] * 2


async def test_a_shared_line_delivers_inbound_texts_to_every_user_bound_to_it(
        gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient, bob: TestClient) -> None:
    assert gateway.store is not None
    await gateway.store.users.add("bob@localhost")
    await gateway.store.bindings.bind("bob@localhost", "sms", ALICE_NUMBER)
    alice_inbox, bob_inbox = Inbox(alice), Inbox(bob)
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "for the whole family")
    assert result.status == 200
    for inbox in (alice_inbox, bob_inbox):
        [message] = await inbox.wait_for(lambda m: m["body"] == "for the whole family")
        assert str(message["from"]) == jid(PEER)
    # Both may send from the shared line too.
    send_text(bob, PEER, "bob on the family line", "bob-1")
    await wait_until(lambda: sandbox.sent_to(PEER))
    assert [(m.from_, m.body) for m in sandbox.sent_to(PEER)] == [(ALICE_NUMBER, "bob on the family line")]


async def test_a_text_to_a_number_bound_to_nobody_is_journaled_and_logged(
        gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(alice)
    with caplog.at_level(logging.WARNING):
        result = await sandbox.send_inbound(PEER, NOBODYS_NUMBER, "anyone there?")
    assert (result.status, result.attempts) == (200, 1)  # acknowledged: Twilio must not retry it
    [row] = await journal(gateway, Direction.IN)
    assert (row.status, row.user_jid, row.peer, row.body, row.provider_id) == (
        Status.UNROUTABLE, "", PEER, "anyone there?", result.sid)
    assert any(PEER in r.getMessage() and "unroutable" in r.getMessage() for r in caplog.records)
    # A retry of the same webhook is recognised, not journaled twice.
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "to alice")
    await inbox.wait_for(lambda m: m["body"] == "to alice")
    assert inbox.bodies_from(jid(PEER)) == ["to alice"]


async def test_a_blocked_numbers_texts_are_journaled_as_blocked_and_not_delivered(
        gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient) -> None:
    assert gateway.store is not None
    await gateway.store.sms.block("sms", "alice@localhost", PEER)
    inbox = Inbox(alice)
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "you blocked me")
    assert result.status == 200
    await sandbox.send_inbound(OTHER_PHONE, ALICE_NUMBER, "not blocked")
    await inbox.wait_for(lambda m: m["body"] == "not blocked")
    assert [m["body"] for m in inbox.messages] == ["not blocked"]  # nothing from PEER, before or after

    async def settled() -> bool:  # 'delivered' follows the server's answer to the ping behind the stanza
        rows = await journal(gateway, Direction.IN)
        return [(r.peer, r.user_jid, r.status, r.body) for r in rows] == [
            (PEER, "alice@localhost", Status.BLOCKED, "you blocked me"),
            (OTHER_PHONE, "alice@localhost", Status.DELIVERED, "not blocked")]

    await wait_until(settled, timeout=5)
    # Unblocked, the number reaches alice again.
    await gateway.store.sms.unblock("sms", "alice@localhost", PEER)
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "friends again")
    await inbox.wait_for(lambda m: m["body"] == "friends again")


async def test_a_user_sends_from_their_default_number(gateway: Gateway, sandbox: RecordingSandbox,
                                                     alice: TestClient) -> None:
    assert gateway.store is not None
    second = "+12025550101"
    sandbox.numbers = (ALICE_NUMBER, second)
    await gateway.store.bindings.bind("alice@localhost", "sms", second)  # not the default: the first one is
    send_text(alice, PEER, "from the default", "d-1")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 1)
    await gateway.store.bindings.unbind("alice@localhost", "sms", ALICE_NUMBER)  # the second one takes over
    send_text(alice, PEER, "from the other", "d-2")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 2)
    assert [(m.from_, m.body) for m in sandbox.sent_to(PEER)] == [
        (ALICE_NUMBER, "from the default"), (second, "from the other")]


async def test_a_contact_mapping_names_another_of_the_users_numbers(gateway: Gateway, sandbox: RecordingSandbox,
                                                                   alice: TestClient) -> None:
    assert gateway.store is not None
    second, other_peer = "+12025550101", "+12025550124"
    sandbox.numbers = (ALICE_NUMBER, second)
    await gateway.store.bindings.bind("alice@localhost", "sms", second)
    await gateway.store.contacts.add("alice@localhost", "sms", PEER, "Work", via=second)
    send_text(alice, PEER, "from the work number", "v-1")
    send_text(alice, other_peer, "from the default", "v-2")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 1 and len(sandbox.sent_to(other_peer)) == 1)
    assert [m.from_ for m in sandbox.sent_to(PEER)] == [second]
    assert [m.from_ for m in sandbox.sent_to(other_peer)] == [ALICE_NUMBER]

    inbox = Inbox(alice)
    await gateway.store.bindings.unbind("alice@localhost", "sms", second)
    send_text(alice, PEER, "no longer possible", "v-3")
    condition, text = error_of(await inbox.error_for("v-3"))
    assert condition == "forbidden" and "+12025550101" in text
    assert len(sandbox.sent_to(PEER)) == 1


async def test_the_daily_segment_limit_refuses_with_a_text_and_sends_nothing(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start(daily_segment_limit=3)
    assert running.store is not None
    inbox = Inbox(alice)
    two_segments, one_segment = "ж" * 71, "ж" * 70  # UCS-2: 70 per single segment, 67 per part beyond
    assert (count_segments(two_segments).segments, count_segments(one_segment).segments) == (2, 1)
    send_text(alice, PEER, two_segments, "lim-1")
    send_text(alice, PEER, one_segment, "lim-2")
    await wait_until(lambda: len(sandbox.sent_to(PEER)) == 2)
    send_text(alice, PEER, "one more", "lim-3")
    condition, text = error_of(await inbox.error_for("lim-3"))
    assert condition == "resource-constraint"
    assert "daily limit of 3 SMS segments" in text and "was not sent" in text
    assert [c.body for c in sandbox.creates()] == [two_segments, one_segment]
    today = datetime.now(UTC).date()
    assert await running.store.sms.used_segments("sms", "alice@localhost", today) == 3
    assert not inbox.matching(lambda m: m["type"] == "error" and m["id"] in ("lim-1", "lim-2"))


async def test_texts_go_through_a_configured_messaging_service(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    service = "MG" + "3c" * 16
    await sms_stack.start(messaging_service_sid=service)
    inbox = Inbox(alice)
    send_text(alice, PEER, "via the service", "svc-1", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "svc-1")
    [sent] = sandbox.sent_to(PEER)
    assert (sent.messaging_service_sid, sent.from_, sent.body) == (service, ALICE_NUMBER, "via the service")
