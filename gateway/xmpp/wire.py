"""What crosses the component stream: every stanza written is clean XML of a known size, every stanza read is
bounded before anything copies it.

Out: `sanitize` runs `core.text.clean` over a stanza's texts and attribute values and drops elements whose namespace
could not be written back (slixmpp writes namespace values unescaped: `urn:x:a"b` would end the attribute), so no
path can put raw foreign text on the stream. `render` turns a stanza into its text once; the outbox keeps and
measures that text.

In: `too_complex` measures a received element without recursion. slixmpp deep-copies a stanza for every reply it
builds (`reply()` copies before it clears), and a deeply nested payload makes that copy raise RecursionError: the
stanza would get no answer at all.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from slixmpp.xmlstream.tostring import tostring

from gateway.core.text import clean

MAX_DEPTH = 32  # real stanzas nest a few levels (a data form in a command: 5); XHTML-IM a few more
MAX_ELEMENTS = 5000
_UNWRITABLE = frozenset("\"'<>&")


def _writable_namespace(tag: str) -> bool:
    if not tag.startswith("{"):
        return True
    namespace = tag[1:tag.find("}")]
    return _UNWRITABLE.isdisjoint(namespace) and clean(namespace) == namespace


def sanitize(root: ET.Element) -> None:
    """Make `root`'s tree safe to write, in place (see the module docstring)."""
    stack = [root]
    while stack:
        element = stack.pop()
        if element.text:
            element.text = clean(element.text)
        if element.tail:
            element.tail = clean(element.tail)
        for key, value in list(element.attrib.items()):
            if not _writable_namespace(key):
                del element.attrib[key]
            else:
                element.attrib[key] = clean(value)
        for child in list(element):
            if _writable_namespace(child.tag):
                stack.append(child)
            else:
                element.remove(child)


def render(stanza: Any, default_ns: str, stream: Any) -> str:
    """A stanza object as the text slixmpp would write for it, sanitised; text passes as it is."""
    if isinstance(stanza, str):
        return stanza
    sanitize(stanza.xml)
    return tostring(stanza.xml, xmlns=default_ns, stream=stream, top_level=True)


def wire_size(text: str) -> int:
    """Bytes `text` takes on the wire (UTF-8)."""
    return len(text.encode())


def escaped_size(text: str) -> int:
    """Bytes `text` takes as XML character data, as slixmpp escapes it (quotes included)."""
    return (wire_size(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))
            + 5 * (text.count('"') + text.count("'")))


def too_complex(root: ET.Element) -> str | None:
    """Why a received stanza is too deep or too large to process, or None."""
    if len(root) < MAX_ELEMENTS and all(len(child) == 0 for child in root):
        return None  # a chat message: a body, ids, a chat state (on every message: no walk)
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            return f"it nests elements deeper than {MAX_DEPTH} levels"
        if count > MAX_ELEMENTS:
            return f"it holds more than {MAX_ELEMENTS} elements"
        stack.extend((child, depth + 1) for child in element)
    return None
