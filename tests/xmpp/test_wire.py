"""What the component writes is clean XML; what it reads is bounded before anything copies it."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp import Message

from gateway.xmpp.wire import MAX_DEPTH, escaped_size, render, sanitize, too_complex


def test_sanitize_cleans_texts_and_attributes_and_drops_unwritable_namespaces() -> None:
    root = ET.fromstring('<message xmlns="jabber:component:accept" to="u@x"><body>a</body></message>')
    root.find("{jabber:component:accept}body").text = "bell\x07 colour\x0304red"  # type: ignore[union-attr]
    root.set("id", "id\x00")
    ET.SubElement(root, '{urn:x:a"b}x').text = "from a client"
    ET.SubElement(root, "{urn:ok}y").tail = "tail\x1b"
    sanitize(root)
    assert root.get("id") == "id"
    assert root.findtext("{jabber:component:accept}body") == "bell colourred"
    assert root.find('{urn:x:a"b}x') is None
    assert root.find("{urn:ok}y").tail == "tail"  # type: ignore[union-attr]


def test_a_rendered_stanza_parses_whatever_it_was_given() -> None:
    message = Message()
    message["to"], message["from"], message["body"] = "u@example.org", "p@sms.example.org", "ff\x0c\x00 \"'<&>"
    ET.SubElement(message.xml, "{urn:x:a&quot;b}x")
    text = render(message, "jabber:component:accept", None)
    parsed = ET.fromstring(text)
    assert parsed.findtext("{jabber:client}body") == "ff\n \"'<&>"


def test_escaped_size_is_what_the_text_takes_as_character_data() -> None:
    text = "a&<>\"'é"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert escaped_size(text) == len(escaped.replace("'", "&apos;").encode())


def test_too_complex_measures_depth_and_size_without_recursion() -> None:
    assert too_complex(ET.fromstring("<a><b><c/></b></a>")) is None
    deep = root = ET.Element("a")
    for _ in range(5000):  # far deeper than Python's recursion limit
        deep = ET.SubElement(deep, "a")
    assert f"deeper than {MAX_DEPTH}" in (too_complex(root) or "")
    wide = ET.Element("a")
    for _ in range(6000):
        ET.SubElement(wide, "b")
    assert "more than" in (too_complex(wide) or "")
