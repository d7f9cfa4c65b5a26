"""core.text.clean: nothing XML 1.0 forbids and no IRC formatting code reaches a stanza."""

from __future__ import annotations

import random
from xml.etree import ElementTree as ET

import pytest

from gateway.core.text import clean


@pytest.mark.parametrize(("raw", "clean_text"), [
    ("page\x0cbreak", "page\nbreak"),  # a GSM-7 form feed
    ("tab\tlf\ncr\r", "tab\tlf\ncr\r"),  # the three controls XML allows stay
    ("\x0304bye\x03", "bye"),  # a colour code goes with its digits
    ("\x0304,12red on blue\x0f.", "red on blue."),
    ("\x04ff0000hex\x04", "hex"),
    ("\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x11mono\x11 \x1estrike\x1e",
     "bold italic under rev mono strike"),
    ("nul\x00 bell\x07 esc\x1b", "nul bell esc"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("not \ufffe or \uffff", "not  or "),
    ("plain 汉字 🙂 \u200e \x85", "plain 汉字 🙂 \u200e \x85"),  # XML carries these; resources are mapped apart
])
def test_clean(raw: str, clean_text: str) -> None:
    assert clean(raw) == clean_text


def test_a_text_that_needs_nothing_is_returned_as_it_is() -> None:
    text = "nothing to do here"
    assert clean(text) is text


def test_whatever_comes_in_an_xml_parser_takes_what_comes_out() -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for index in range(2000):
        raw = "".join(chr(rng.choice((rng.randrange(0x40), rng.randrange(0x110000)))) for _ in range(20))
        cleaned = clean(raw)
        escaped = cleaned.replace("&", "&amp;").replace("<", "&lt;")
        ET.fromstring(f"<a>{escaped.encode('utf-8', 'surrogatepass').decode('utf-8', 'replace')}</a>")
        assert "\x03" not in cleaned, f"seed {seed}, case {index}: {raw!r}"
