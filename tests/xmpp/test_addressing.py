"""Foreign names into JID local parts and resources and back: always a valid JID, always the same name back."""

from __future__ import annotations

import random

import pytest
from slixmpp import JID

from gateway.xmpp.addressing import (
    MAX_PART,
    local_part,
    name_of_local,
    name_of_resource,
    nick_of,
    peer_jid,
    peer_of,
    resource_part,
)

DOMAIN = "irc.example.org"
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Names networks send that a JID part cannot hold as they are: controls (NUL, BEL, ESC, DEL, C1), characters
# stringprep refuses (U+200E, private use, U+FFFD's neighbours), changes (U+00AD, ligatures, NFKC) or refuses
# only together (Latin mixed with Hebrew: the bidi rule; a combining mark NFKC would merge).
HOSTILE = ["a\x00b", "\x07", "esc\x1b[0m", "del\x7f", "c1\x85x", "\u200eltr", "pu\ue000", "shy\u00adx",
           "\ufb01x", "\uff26\uff55\uff4c\uff4c", "jörg", "aא", "אa", "e\u0301", "\u0301", "😀", "back\\slash",
           "\\u{41}", "\\5c",
           "\\20", "a b", "p@q", "x/y:z", "<&>", '"q\'', "#chan%net", "nick%net", "Ärger", "İstanbul", "\ufffd"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_makes_a_valid_local_part_that_maps_back(name: str) -> None:
    jid = peer_jid(name, DOMAIN)  # raises InvalidJID if the part is no valid local part
    assert str(JID(str(jid))) == str(jid)  # and it is stable: the server sends the same JID back
    assert peer_of(jid) == name.translate(ASCII_LOWER)  # ASCII letters fold, as every network compares them


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_makes_a_valid_resource_that_maps_back(name: str) -> None:
    jid = JID(f"#room%net@{DOMAIN}/{resource_part(name)}")
    assert str(JID(str(jid))) == str(jid)
    assert nick_of(jid) == name


def test_plain_names_stay_readable() -> None:
    assert local_part("alice%libera") == "alice%libera"
    assert local_part("d'artagnan@home") == "d\\27artagnan\\40home"  # XEP-0106
    assert local_part("\u200eltr") == "\\u{200e}ltr"
    assert local_part("aא") == "a\\u{5d0}"  # together they break the bidi rule: the non-ASCII one is written
    assert resource_part("Jörg the 2nd") == "Jörg the 2nd"  # resources keep case and spaces
    assert resource_part("bell\x07") == "bell\\u{7}"
    assert resource_part("\\u{41}") == "\\u{5c}u{41}"  # a backslash that would read as an escape is escaped


def test_escapes_are_read_back_whatever_their_case() -> None:
    assert name_of_local("\\U{200E}x\\2F") == "\u200ex/"
    assert name_of_resource("\\u{7}") == "\x07"
    assert name_of_resource("\\u{d800}") == "\\u{d800}"  # no surrogate comes out of an escape
    assert name_of_resource("\\u{110000}") == "\\u{110000}"


def test_an_escaped_space_alone_unescapes_instead_of_raising() -> None:
    # slixmpp's own unescape_node raises InvalidJID here; the transport must get " " and refuse it itself.
    assert peer_of(JID("\\20@loopback.localhost")) == " "


def test_an_overlong_name_is_cut_to_a_valid_part_at_an_escape_boundary() -> None:
    part = local_part("\x01" * 400)
    assert len(part.encode()) <= MAX_PART
    assert JID(f"{part}@{DOMAIN}").user == part
    assert name_of_local(part) == "\x01" * (len(part) // len("\\u{1}"))
    assert len(resource_part("é\x02" * 500).encode()) <= MAX_PART


def test_random_names_always_map_to_valid_parts_and_back() -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    alphabet = [chr(c) for c in (*range(0, 0x250), *range(0x590, 0x700), *range(0x2000, 0x2070),
                                 *range(0xE000, 0xE010), *range(0xFFF0, 0x10000), 0x1F600, 0x10FFFD)]
    for index in range(2000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        context = f"seed {seed}, case {index}: {name!r}"
        node = JID(f"{local_part(name)}@{DOMAIN}")
        assert name_of_local(str(node.user)) == name.translate(ASCII_LOWER), context
        full = JID(f"r@{DOMAIN}/{resource_part(name)}")
        assert nick_of(full) == name, context
