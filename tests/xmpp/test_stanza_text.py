"""Room messages written as text read back as the same stanzas slixmpp would build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest
from slixmpp import JID, Message
from slixmpp.jid import InvalidJID
from slixmpp.plugins.xep_0203 import Delay
from slixmpp.xmlstream import register_stanza_plugin

from gateway.xmpp import stanza_text


def parse(text: str) -> Message:
    register_stanza_plugin(Message, Delay)
    # No xmlns of its own: it takes the stream's default one (jabber:client here, which slixmpp's Message reads).
    wrapped = ET.fromstring(f'<stream xmlns="jabber:client">{text}</stream>')
    return Message(xml=wrapped[0])


def test_a_groupchat_message_with_markup_and_quotes_in_every_field() -> None:
    body = 'a <b> & "c" \'d\' ]]> 汉字 🙂\nsecond line'
    text = stanza_text.message(to='u@example.org/r"1', sender="#c%net@irc.example.org/n<ick>", kind="groupchat",
                                id="id&1", body=body,
                                payload=stanza_text.stanza_id("s1", "#c%net@irc.example.org")
                                + stanza_text.delay(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    stanza = parse(text)
    assert stanza["body"] == body
    assert (str(stanza["to"]), str(stanza["from"])) == ('u@example.org/r"1', "#c%net@irc.example.org/n<ick>")
    assert (stanza["type"], stanza["id"]) == ("groupchat", "id&1")
    sid = stanza.xml.find("{urn:xmpp:sid:0}stanza-id")
    assert sid is not None and sid.attrib == {"id": "s1", "by": "#c%net@irc.example.org"}
    assert stanza["delay"]["stamp"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_characters_xml_cannot_carry_are_left_out() -> None:
    stanza = parse(stanza_text.message(to="u@example.org", sender="r@irc.example.org", kind="chat", id="x\x00",
                                        body="bell\x07 nul\x00 esc\x1b ok\ufffe"))
    assert stanza["body"] == "bell nul esc ok"
    assert stanza["id"] == "x"


def test_an_empty_body_is_left_out() -> None:
    assert "<body" not in stanza_text.message(to="u@example.org", sender="r@x.org", kind="groupchat", id="1", body="")


def test_a_delay_is_written_in_utc_and_needs_a_zone() -> None:
    stamp = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert 'stamp="2026-01-02T03:04:05Z"' in stanza_text.delay(stamp)
    with pytest.raises(ValueError):
        stanza_text.delay(datetime(2026, 1, 2))


def test_full_jids_are_checked_and_normalised() -> None:
    assert stanza_text.full_jid("Room@IRC.Example.org", "Nick") == "room@irc.example.org/Nick"
    assert stanza_text.full_jid("room@irc.example.org", "") == "room@irc.example.org"
    # Any nick makes a valid resource (xmpp.addressing): a bell, U+200E, one longer than a JID holds.
    assert stanza_text.full_jid("room@irc.example.org", "a\x07\u200e") == "room@irc.example.org/a\\u{7}\\u{200e}"
    assert str(JID(stanza_text.full_jid("room@irc.example.org", "x" * 2000))).endswith("/" + "x" * 1023)
    with pytest.raises(InvalidJID):
        stanza_text.full_jid("not a room", "nick")
