"""mIRC formatting codes in received IRC text -> XEP-0393 message styling, or plain text.

Bold (0x02) becomes *bold*, italic (0x1D) _italic_, strikethrough (0x1E) ~strike~, monospace (0x11) `mono`.
Underline (0x1F), reverse (0x16) and colours (0x03 with up to two digits for the foreground and, after a comma,
the background; 0x04 with hex RRGGBB[,RRGGBB]) have no equivalent and are dropped; reset (0x0F) ends every style.
No control character survives: other C0/C1 controls are removed and a tab becomes a space.

XEP-0393 only opens a span at the start of a line, after a blank or after another opening directive, and a span
may neither start nor end with a blank. A style that starts in the middle of a word is therefore left out (the
text stays, unstyled), and blanks at the edges of a span are moved outside it. XEP-0393 has no escapes: literal
`*` or `_` already in the text are left as they are. Hand-written: no library translates mIRC codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOLD, ITALIC, UNDERLINE, STRIKE, MONO = "\x02", "\x1d", "\x1f", "\x1e", "\x11"
COLOR, HEX_COLOR, REVERSE, RESET = "\x03", "\x04", "\x16", "\x0f"

# Outer to inner: a preformatted span (`) is not parsed further, so it must be innermost.
_MARKERS = ((BOLD, "*"), (ITALIC, "_"), (STRIKE, "~"), (MONO, "`"))
_TOGGLES = {BOLD, ITALIC, STRIKE, MONO, UNDERLINE, REVERSE}
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control character but the line feed
_COLOR_ARGS = re.compile(r"\d{1,2}(?:,\d{1,2})?")
_HEX_ARGS = re.compile(r"[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?")


@dataclass(frozen=True)
class _Run:
    text: str
    styles: frozenset[str]


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or code in (0xFFFE, 0xFFFF)


def _runs(text: str) -> list[_Run]:
    """The text split into runs of one style set; every control character consumed."""
    runs: list[_Run] = []
    styles: set[str] = set()
    buf: list[str] = []

    def flush() -> None:
        if buf:
            runs.append(_Run("".join(buf), frozenset(styles)))
            buf.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch in _TOGGLES:
            flush()
            styles.symmetric_difference_update({ch})
        elif ch == RESET:
            flush()
            styles.clear()
        elif ch == COLOR:
            match = _COLOR_ARGS.match(text, i)
            i = match.end() if match else i
        elif ch == HEX_COLOR:
            match = _HEX_ARGS.match(text, i)
            i = match.end() if match else i
        elif ch == "\t":
            buf.append(" ")
        elif not _is_control(ch):
            buf.append(ch)
    flush()
    return runs


def strip_formatting(text: str) -> str:
    """The text without any formatting code or control character."""
    return "".join(run.text for run in _runs(text))


def irc_to_styling(text: str) -> str:
    """The text with bold, italic, strikethrough and monospace as XEP-0393 styling, everything else dropped."""
    if not _CONTROL.search(text):
        return text  # most lines carry no codes: one scan instead of the run-by-run rewrite
    return "\n".join(_style_line(line) for line in text.split("\n"))


def _style_line(line: str) -> str:
    out: list[str] = []
    for run in _merged(_runs(line)):
        markers = [mark for code, mark in _MARKERS if code in run.styles]
        core = run.text.strip()
        if not markers or not core:
            out.append(run.text)
            continue
        lead = run.text[: len(run.text) - len(run.text.lstrip())]
        trail = run.text[len(run.text.rstrip()) :]
        before = "".join(out) + lead
        if before and not before[-1].isspace():
            out.append(run.text)  # mid-word: XEP-0393 would not open a span here
            continue
        if "`" in markers and "`" in core:
            markers.remove("`")  # a backtick inside cannot be preformatted
        out.append(lead + "".join(markers) + core + "".join(reversed(markers)) + trail)
    return "".join(out)


def _merged(runs: list[_Run]) -> list[_Run]:
    """Adjacent runs with the same styles joined (a code that toggles twice leaves no empty span)."""
    merged: list[_Run] = []
    for run in runs:
        if merged and merged[-1].styles == run.styles:
            merged[-1] = _Run(merged[-1].text + run.text, run.styles)
        else:
            merged.append(run)
    return merged
