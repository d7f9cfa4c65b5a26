"""Foreign names <-> JID parts: the one mapping every foreign name passes to become a local part or a resource.

A foreign name (an IRC nick or channel, a phone number) may hold anything its network allows: characters nodeprep
or resourceprep refuse (controls, U+200E, Latin mixed with Hebrew letters), characters they would change (U+00AD
vanishes, "ﬁ" becomes "fi"), characters a local part cannot hold at all ("@", "/", a space). The mapping always
yields a part that a JID holds unchanged, and maps back to the exact name, so a reply reaches who wrote:

- Local parts use XEP-0106 for the characters it covers (space " & ' / : < > @, and a backslash that would read as
  an escape: "\\5c"). ASCII letters may come back lower-cased: nodeprep folds them, and every network here compares
  them without case.
- Any other character a JID part would refuse or change is written `\\u{hex}` (its code point in lower-case hex,
  e.g. U+200E is `\\u{200e}`), in local parts and resources alike; a backslash that would read as such an escape
  is escaped itself. When the characters are fine one by one but not together (the bidi rule, a combining mark
  that NFKC would merge), every non-ASCII character of the name is written so.
- A part longer than a JID allows (1023 bytes) is cut at a whole character or escape; such a name cannot be
  answered.

Hand-written: slixmpp has no escaping function (and its unescape_node rejects results that are no valid local
part), and no library maps arbitrary names into resources.
"""

from __future__ import annotations

import functools
import re

from slixmpp import JID
from slixmpp.jid import InvalidJID

MAX_PART = 1023  # bytes, RFC 7622

# XEP-0106 section 3.1.
_ESCAPES = {" ": "\\20", '"': "\\22", "&": "\\26", "'": "\\27", "/": "\\2f", ":": "\\3a", "<": "\\3c",
            ">": "\\3e", "@": "\\40"}
_UNESCAPES = {sequence: char for char, sequence in _ESCAPES.items()} | {"\\5c": "\\"}
_CODE_POINT = r"u\{(?:[0-9a-f]{1,6})\}"
# What reads as an escape after a backslash, in a local part and in a resource.
_NODE_ESCAPE = re.compile(r"\\(?:20|22|26|27|2f|3a|3c|3e|40|5c|" + _CODE_POINT + ")", re.IGNORECASE)
_RESOURCE_ESCAPE = re.compile(r"\\" + _CODE_POINT, re.IGNORECASE)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _code_point(char: str) -> str:
    return f"\\u{{{ord(char):x}}}"


@functools.lru_cache(maxsize=4096)
def _kept(char: str, resource: bool) -> bool:
    """Does a JID keep this (non-ASCII) character exactly as it is?"""
    return _holds(char, resource)


def _escaped(name: str, resource: bool, every_non_ascii: bool) -> str:
    out = []
    reads_as_escape = _RESOURCE_ESCAPE if resource else _NODE_ESCAPE
    for index, char in enumerate(name):
        if char == "\\" and reads_as_escape.match(name, index):
            out.append(_code_point(char) if resource else "\\5c")
        elif not resource and char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif " " <= char < "\x7f":
            out.append(char)
        elif char.isascii() or every_non_ascii or not _kept(char, resource):
            out.append(_code_point(char))
        else:
            out.append(char)
    return "".join(out)


def _holds(part: str, resource: bool) -> bool:
    """Does a JID hold `part` unchanged (ASCII letters folded, for a local part)? Asked of slixmpp's JID itself:
    its profiles (compiled, Unicode 3.2, unassigned code points refused) are what every stanza we write passes."""
    try:
        if resource:
            return JID(f"x@x/{part}").resource == part
        return JID(f"{part}@x").user == part.translate(_ASCII_LOWER)
    except InvalidJID:
        return False


def _bounded(part: str) -> str:
    """`part` cut to MAX_PART bytes, never inside a character or an escape."""
    if len(part.encode()) <= MAX_PART:
        return part
    units = re.findall(r"\\u\{[0-9a-f]+\}|\\[0-9a-f]{2}|.", part, re.DOTALL)
    out, size = [], 0
    for unit in units:
        size += len(unit.encode())
        if size > MAX_PART:
            break
        out.append(unit)
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def _part(name: str, resource: bool) -> str:
    part = _escaped(name, resource, every_non_ascii=False)
    if not part.isascii() and not _holds(part, resource):
        part = _escaped(name, resource, every_non_ascii=True)  # ASCII only: always held
    return _bounded(part)


def local_part(name: str) -> str:
    """The JID local part for a foreign name (see the module docstring)."""
    return _part(name, False)


def resource_part(name: str) -> str:
    """The JID resource for a foreign name, e.g. a nick in a room (see the module docstring)."""
    return _part(name, True)


def _unescape(match: re.Match[str]) -> str:
    sequence = match.group(0)
    if sequence[1] in "uU":
        code = int(sequence[3:-1], 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else sequence
    return _UNESCAPES[sequence.lower()]


def name_of_local(node: str) -> str:
    """The foreign name a JID local part stands for."""
    return _NODE_ESCAPE.sub(_unescape, node) if "\\" in node else node


def name_of_resource(resource: str) -> str:
    """The foreign name a JID resource stands for."""
    return _RESOURCE_ESCAPE.sub(_unescape, resource) if "\\" in resource else resource


def peer_jid(peer: str, domain: str) -> JID:
    return JID(f"{local_part(peer)}@{domain}")


@functools.lru_cache(maxsize=4096)
def peer_bare_jid(peer: str, domain: str) -> str:
    """`peer_jid` as text, cached: a room's JID is looked up for every line shown in it."""
    return str(peer_jid(peer, domain))


def peer_of(jid: JID) -> str:
    return name_of_local(str(jid.user))


def nick_of(jid: JID) -> str:
    """The foreign name (an occupant's nick) in a JID's resource."""
    return name_of_resource(str(jid.resource))
