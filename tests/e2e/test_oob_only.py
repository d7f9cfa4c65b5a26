"""A message that carries only an attachment (XEP-0066, no body) is taken like any other."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from gateway.app import Gateway
from tests.support.stack import LOOPBACK
from tests.support.xmpp_client import TestClient

OOB = "jabber:x:oob"


async def test_an_attachment_without_a_body_comes_back(gateway: Gateway, alice: TestClient) -> None:
    message = alice.make_message(mto=f"echo@{LOOPBACK}", mtype="chat")
    message["id"] = "oob-only"
    x = ET.SubElement(message.xml, f"{{{OOB}}}x")
    ET.SubElement(x, f"{{{OOB}}}url").text = "https://example.org/cat.jpg"
    message.send()

    echo = await alice.next_message(predicate=lambda m: m.xml.find(f"{{{OOB}}}x") is not None)
    assert echo.xml.findtext(f"{{{OOB}}}x/{{{OOB}}}url") == "https://example.org/cat.jpg"
    assert gateway.store is not None
    first, *_ = await gateway.store.journal.history(user="alice@localhost")
    assert first.xmpp_id == "oob-only"
