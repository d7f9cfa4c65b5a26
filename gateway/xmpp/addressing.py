"""Foreign addresses <-> JIDs of a component's domain, with XEP-0106 escaping."""

from __future__ import annotations

import functools
import re

from slixmpp import JID

# XEP-0106 section 3.1. slixmpp has no escaping function, and its (compiled) unescape_node rejects results
# that are no valid local part (an escaped space alone), so both directions are here.
_ESCAPES = {" ": "\\20", '"': "\\22", "&": "\\26", "'": "\\27", "/": "\\2f", ":": "\\3a", "<": "\\3c",
            ">": "\\3e", "@": "\\40"}
_UNESCAPES = {sequence: char for char, sequence in _ESCAPES.items()} | {"\\5c": "\\"}
_SEQUENCE = re.compile(r"\\(?:20|22|26|27|2f|3a|3c|3e|40|5c)", re.IGNORECASE)


def escape_node(text: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char == "\\" and _SEQUENCE.match(text, index):
            out.append("\\5c")  # a backslash that would read as an escape must itself be escaped
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out)


def unescape_node(node: str) -> str:
    return _SEQUENCE.sub(lambda match: _UNESCAPES[match.group(0).lower()], node)


def peer_jid(peer: str, domain: str) -> JID:
    return JID(f"{escape_node(peer)}@{domain}")


@functools.lru_cache(maxsize=4096)
def peer_bare_jid(peer: str, domain: str) -> str:
    """`peer_jid` as text, cached: a room's JID is looked up for every line shown in it."""
    return str(peer_jid(peer, domain))


def peer_of(jid: JID) -> str:
    return unescape_node(str(jid.user))
