"""Addresses: canonical E.164 JIDs only, with the canonical JID named in the error; the XEP-0100 prompt."""

from __future__ import annotations

import pytest
from slixmpp import Iq
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.app import Gateway
from gateway.core.events import Direction
from tests.e2e.sms.conftest import PEER, SMS
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, journal, send_text
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient

GATEWAY_NS = "jabber:iq:gateway"


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


NON_CANONICAL = ["2025550123", "(202)555-0123", "202-555-0123", "12025550123", "+1-202-555-0123"]
INVALID = [
    ("+1202555", "too few digits"),
    ("+120255501234567", "too many digits"),
    ("+99912345678", "not a phone number"),  # +999 is no country code
    ("+12021234567", "not a valid phone number"),  # 123 is no US exchange
    ("hello", "not a phone number"),
    ("+", "not a phone number"),
]


async def test_a_non_canonical_local_part_is_refused_naming_the_canonical_jid(
        gateway: Gateway, sandbox: RecordingSandbox, alice: TestClient) -> None:
    inbox = Inbox(alice)
    for index, local in enumerate(NON_CANONICAL):
        send_text(alice, f"{local}@{SMS}", "hello", f"nc-{index}")
        error = await inbox.error_for(f"nc-{index}")
        condition, text = error_of(error)
        assert (condition, error["error"]["type"]) == ("jid-malformed", "modify"), local
        assert f"Use {PEER}@{SMS} instead" in text, text
    assert sandbox.api_calls == []
    assert await journal(gateway, Direction.OUT) == []  # refused before anything was stored


async def test_invalid_numbers_are_refused_with_a_reason(gateway: Gateway, sandbox: RecordingSandbox,
                                                         alice: TestClient) -> None:
    inbox = Inbox(alice)
    for index, (local, reason) in enumerate(INVALID):
        send_text(alice, f"{local}@{SMS}", "hello", f"bad-{index}")
        condition, text = error_of(await inbox.error_for(f"bad-{index}"))
        assert condition == "jid-malformed", local
        assert reason in text, text
    assert sandbox.api_calls == []
    # A canonical, valid number goes through: the refusals above are about the addresses, not about alice.
    send_text(alice, PEER, "hello", "good")
    await wait_until(lambda: sandbox.creates(PEER))
    assert [c.body for c in sandbox.creates(PEER)] == ["hello"]


async def test_gateway_prompt_describes_itself(gateway: Gateway, alice: TestClient) -> None:
    result = await alice.iq(SMS, ET.Element(f"{{{GATEWAY_NS}}}query"), "get")
    query = result.xml.find(f"{{{GATEWAY_NS}}}query")
    assert query is not None
    desc, prompt = query.findtext(f"{{{GATEWAY_NS}}}desc"), query.findtext(f"{{{GATEWAY_NS}}}prompt")
    assert desc and "phone number" in desc.lower()
    assert prompt == "phone number"
    info = await alice.plugin["xep_0030"].get_info(jid=SMS)
    assert GATEWAY_NS in info["disco_info"]["features"]


def _prompt(text: str) -> ET.Element:
    query = ET.Element(f"{{{GATEWAY_NS}}}query")
    ET.SubElement(query, f"{{{GATEWAY_NS}}}prompt").text = text
    return query


TYPED = [
    ("(202) 555-0123", f"+12025550123@{SMS}"),
    ("202.555.0123", f"+12025550123@{SMS}"),
    ("+44 20 7946 0958", f"+442079460958@{SMS}"),
    ("+12025550123", f"+12025550123@{SMS}"),
]
GARBAGE = [
    ("call me maybe", "not a phone number"),
    ("", "type a phone number"),
    ("555", "too few digits"),
    ("+999 1234 5678", "not a phone number"),
    ("+1 202 123 4567", "not a valid phone number"),
]


async def test_gateway_prompt_turns_what_a_person_types_into_the_jid(gateway: Gateway, alice: TestClient) -> None:
    for typed, expected in TYPED:
        result = await alice.iq(SMS, _prompt(typed), "set")
        assert result.xml.findtext(f"{{{GATEWAY_NS}}}query/{{{GATEWAY_NS}}}jid") == expected, typed


async def test_gateway_prompt_refuses_garbage_with_a_text(gateway: Gateway, alice: TestClient) -> None:
    for typed, reason in GARBAGE:
        with pytest.raises(IqError) as info:
            await alice.iq(SMS, _prompt(typed), "set")
        error = info.value.iq["error"]
        assert error["condition"] == "not-acceptable", typed
        assert reason in error["text"].lower(), error["text"]


async def test_a_prompt_that_would_be_quoted_larger_than_the_server_takes_is_refused_in_a_short_text(
        gateway: Gateway, alice: TestClient) -> None:
    """A private-use character is 4 bytes in the stanza and 10 quoted (repr writes '\\U000f0000'): a prompt of
    248,000 bytes, under Prosody's 256 KiB for a client, quoted whole made an error of 620,000, over its 512 KiB
    for a component, and the server closed the SMS component's stream over it (no answer, every user cut off)."""
    with pytest.raises(IqError) as info:
        await alice.iq(SMS, _prompt("\U000f0000" * 62_000), "set", timeout=10)
    text = info.value.iq["error"]["text"]
    assert "not a phone number" in text and len(text) < 600, len(text)
    result = await alice.iq(SMS, _prompt("(202) 555-0123"), "set")
    assert result.xml.findtext(f"{{{GATEWAY_NS}}}query/{{{GATEWAY_NS}}}jid") == f"+12025550123@{SMS}"


async def test_an_iq_result_carrying_a_prompt_is_never_answered(gateway: Gateway, alice: TestClient) -> None:
    """RFC 6120 8.2.3: a result is no request, whatever it carries."""
    answers: list[Iq] = []
    alice.register_handler(Callback("answers", MatchXPath("{jabber:client}iq"),
                                    lambda iq: answers.append(iq) if iq["id"].startswith("unasked") else None))
    for n, typed in enumerate(("(202) 555-0123", "call me maybe")):
        iq = alice.make_iq_result(id=f"unasked-{n}", ito=SMS)
        iq.append(_prompt(typed))
        iq.send()
    await alice.iq(SMS, ET.Element(f"{{{GATEWAY_NS}}}query"), "get")  # answered after them
    assert answers == []
