"""Foreign addresses <-> JIDs of a component's domain, with XEP-0106 escaping."""

from __future__ import annotations

from slixmpp import JID
from slixmpp.jid import unescape_node

# XEP-0106 section 3.1. slixmpp unescapes but has no escaping function, hence this table.
_ESCAPES = {" ": "\\20", '"': "\\22", "&": "\\26", "'": "\\27", "/": "\\2f", ":": "\\3a", "<": "\\3c",
            ">": "\\3e", "@": "\\40"}
_SEQUENCES = (*_ESCAPES.values(), "\\5c")


def escape_node(text: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char == "\\" and text[index:index + 3].lower() in _SEQUENCES:
            out.append("\\5c")  # a backslash that would read as an escape must itself be escaped
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out)


def peer_jid(peer: str, domain: str) -> JID:
    return JID(f"{escape_node(peer)}@{domain}")


def peer_of(jid: JID) -> str:
    return str(unescape_node(jid.user))
