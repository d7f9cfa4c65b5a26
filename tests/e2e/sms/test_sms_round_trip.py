"""A text out and its reply back, through Prosody, the gateway, the twilio SDK and the sandbox."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, SMS
from tests.support.xmpp_client import TestClient


async def test_text_out_with_receipt_and_reply_back(gateway: Gateway, sandbox: SmsSandbox,
                                                    alice: TestClient) -> None:
    message = alice.make_message(mto=f"{PEER}@{SMS}", mbody="Hi from XMPP", mtype="chat")
    message["id"] = "sms-1"
    message["request_receipt"] = True
    message.send()

    receipt = await alice.next_message(timeout=10, predicate=lambda m: m["receipt"] == "sms-1")
    assert str(receipt["from"]) == f"{PEER}@{SMS}"
    [sent] = sandbox.sent_to(PEER)
    assert (sent.from_, sent.body, sent.status) == (ALICE_NUMBER, "Hi from XMPP", "delivered")

    await sandbox.send_inbound(PEER, ALICE_NUMBER, "Hi back from the phone")
    reply = await alice.next_message(timeout=10, predicate=lambda m: m["body"] == "Hi back from the phone")
    assert str(reply["from"]) == f"{PEER}@{SMS}"
