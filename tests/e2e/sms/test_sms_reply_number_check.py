"""A reply to a number that texted the user is never refused by `number_check`: the number is real, it texted
in. A number that did not text that user is still checked (and refused with the reason) as before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.core.events import Direction, Status
from tests.e2e.sms.conftest import ALICE_NUMBER, SmsStack
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, jid, journal, send_text
from tests.support.xmpp_client import TestClient

INVALID = "+15551234567"  # possible, but no valid US number: `number_check = "valid"` refuses it
IMPOSSIBLE = "+1202555"  # too few digits for +1: even `number_check = "possible"` refuses it


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


@pytest.fixture
async def bob(sms_stack: SmsStack) -> AsyncIterator[TestClient]:
    client = TestClient(sms_stack.prosody.register("bob", "bob-password"), "bob-password")
    await client.start(port=sms_stack.prosody.c2s_port)
    yield client
    await client.stop()


@pytest.mark.parametrize(("check", "number"), [("valid", INVALID), ("possible", IMPOSSIBLE)])
async def test_a_reply_to_a_number_that_texted_in_goes_out(
        check: str, number: str, sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient) -> None:
    running = await sms_stack.start(number_check=check)
    inbox = Inbox(alice)
    send_text(alice, number, "before it texted", "first")
    condition, text = error_of(await inbox.error_for("first"))
    assert condition == "jid-malformed" and "number" in text, text  # unknown to alice: checked
    result = await sandbox.send_inbound(number, ALICE_NUMBER, "it's me")
    assert result.status == 200
    await inbox.wait_for(lambda m: m["body"] == "it's me" and str(m["from"]) == jid(number))
    send_text(alice, number, "hello back", "reply", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "reply")
    assert [c.body for c in sandbox.creates(number)] == ["hello back"]
    rows = {r.xmpp_id: r.status for r in await journal(running, Direction.OUT)}
    assert rows["reply"] == Status.DELIVERED
    assert not inbox.matching(lambda m: m["type"] == "error" and m["id"] == "reply")


async def test_a_number_that_texted_someone_else_is_still_checked(
        sms_stack: SmsStack, sandbox: RecordingSandbox, alice: TestClient, bob: TestClient) -> None:
    running = await sms_stack.start()
    assert running.store is not None
    await running.store.users.add("bob@localhost")
    await running.store.bindings.bind("bob@localhost", "sms", "+12025550199")
    inbox, bob_inbox = Inbox(alice), Inbox(bob)
    await sandbox.send_inbound(INVALID, ALICE_NUMBER, "for alice only")
    await inbox.wait_for(lambda m: m["body"] == "for alice only")
    send_text(bob, INVALID, "who are you?", "bob-1")
    condition, text = error_of(await bob_inbox.error_for("bob-1"))
    assert condition == "jid-malformed" and "not a valid phone number" in text, text
    assert sandbox.creates(INVALID) == []
    bob_inbox.close()
