"""XEP-0106 escaping of foreign addresses into JID local parts, both ways."""

from __future__ import annotations

import pytest
from slixmpp import JID

from gateway.xmpp.addressing import escape_node, peer_jid, peer_of, unescape_node


@pytest.mark.parametrize("peer", ["a b", "p@q", "x\\20y", "#chan%libera", "a/b:c", "<&>", '"q"', "back\\slash"])
def test_escaping_round_trips_through_a_jid(peer: str) -> None:
    assert peer_of(peer_jid(peer, "loopback.localhost")) == peer


def test_known_sequences() -> None:
    assert escape_node("d'artagnan@home") == "d\\27artagnan\\40home"
    assert unescape_node("d\\27artagnan\\40home") == "d'artagnan@home"
    assert escape_node("\\5c") == "\\5c5c"


def test_an_escaped_space_alone_unescapes_instead_of_raising() -> None:
    # slixmpp's own unescape_node raises InvalidJID here; the transport must get " " and refuse it itself.
    assert peer_of(JID("\\20@loopback.localhost")) == " "
