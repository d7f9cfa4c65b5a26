"""A text holding characters XML cannot carry reaches the user cleaned, and stops nobody's texts after it."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.devstack.prosody import ProsodyServer
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SMS
from tests.e2e.sms.support import Inbox, jid
from tests.support.xmpp_client import TestClient


async def test_a_form_feed_and_other_controls_in_a_text_are_cleaned_and_the_next_text_arrives(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    # A form feed is a real GSM-7 character (a page break); the others are what XML 1.0 forbids outright.
    result = await sandbox.send_inbound(PEER, ALICE_NUMBER, "page\x0cbreak bell\x07 nul\x00 \ufffe end")
    assert result.status == 200
    [text] = await inbox.wait_for(lambda m: m["body"].startswith("page"))
    assert text["body"] == "page\nbreak bell nul  end"
    assert str(text["from"]) == jid(PEER)
    # Before, the stream was cut here and the same stanza written again after every reconnect: nothing else came.
    await sandbox.send_inbound(PEER, ALICE_NUMBER, "the next one")
    await inbox.wait_for(lambda m: m["body"] == "the next one")
    assert gateway.metrics.reconnects.labels(component=SMS)._value.get() == 0
    inbox.close()


async def test_a_refused_text_with_a_hostile_namespace_is_bounced_without_it(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, prosody: ProsodyServer) -> None:
    # slixmpp writes a namespace value as it is: copied into the bounce, `urn:x:a"b` ended the attribute and the
    # server closed the SMS component's stream, once per such message, whoever sent it.
    bob = TestClient(prosody.register("bob", "bob-password"), "bob-password")  # no number bound: refused
    await bob.start(port=prosody.c2s_port)
    inbox, bob_inbox = Inbox(alice), Inbox(bob)
    try:
        for client, box, to, stanza_id in ((alice, inbox, "12345@" + SMS, "bad-number"),
                                           (bob, bob_inbox, jid(PEER), "no-binding")):
            client.send_raw(f"<message to='{to}' type='chat' id='{stanza_id}'><body>hi</body>"
                            "<x xmlns='urn:x:a&quot;b'><deep xmlns='urn:y'/></x></message>")
            error = await box.error_for(stanza_id)
            assert error["error"]["text"]
            assert [child.tag for child in error.xml] == ["{jabber:client}error"]  # nothing of the payload
        await sandbox.send_inbound(PEER, ALICE_NUMBER, "after the bounces")
        await inbox.wait_for(lambda m: m["body"] == "after the bounces")
        assert gateway.metrics.reconnects.labels(component=SMS)._value.get() == 0
    finally:
        inbox.close()
        bob_inbox.close()
        await bob.stop()
