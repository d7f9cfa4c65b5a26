from __future__ import annotations

import pytest

from gateway.transports.irc.formatting import irc_to_styling, strip_formatting


@pytest.mark.parametrize(
    ("irc", "styled"),
    [
        ("plain text", "plain text"),
        ("\x02bold\x02 text", "*bold* text"),
        ("\x1ditalic\x1d", "_italic_"),
        ("\x1estrike\x1e", "~strike~"),
        ("\x11mono\x11 x", "`mono` x"),
        ("\x02bold", "*bold*"),  # never closed: closed at the end
        ("\x02\x1dboth\x0f after", "*_both_* after"),
        ("a \x02 padded \x02 b", "a  *padded*  b"),  # blanks move outside the span
        ("\x02\x02", ""),
        ("\x02 \x02", " "),  # a span of blanks is no span
        ("mid\x02word\x02", "midword"),  # XEP-0393 cannot open mid-word: stripped
        ("\x1funderline\x1f", "underline"),
        ("\x16reverse\x16", "reverse"),
        ("\x0304red\x03 \x0304,12red on blue\x03", "red red on blue"),
        ("\x034,5x", "x"),
        ("\x03,5x", ",5x"),  # a comma without a foreground is text
        ("\x03123", "3"),  # two digits at most
        ("\x04FF0000red\x04", "red"),
        ("\x04FF0000,00FF00both", "both"),
        ("\x04zz", "zz"),
        ("\x02bold \x0304red\x03 bold\x02", "*bold red bold*"),
        ("\x11a`b\x11", "a`b"),  # a backtick inside cannot be preformatted
        ("\x02\x11code\x11\x02", "*`code`*"),
        ("tab\there", "tab here"),
        ("bell\x07 nul\x00 del\x7f c1\x85 end", "bell nul del c1 end"),
    ],
)
def test_irc_to_styling(irc: str, styled: str) -> None:
    assert irc_to_styling(irc) == styled


def test_no_control_character_survives() -> None:
    everything = "".join(chr(c) for c in range(0x00, 0xA0)) + "\ufffe\uffff"
    for out in (irc_to_styling(everything), strip_formatting(everything)):
        assert not [ch for ch in out if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]
        assert "\ufffe" not in out and "\uffff" not in out


def test_strip_formatting() -> None:
    assert strip_formatting("\x02\x0304,01Hi\x0f \x1dthere\x1d") == "Hi there"


def test_styles_do_not_cross_lines() -> None:
    assert irc_to_styling("\x02a\nb\x02") == "*a*\nb"
