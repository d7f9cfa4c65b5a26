"""The one rule for foreign text that becomes XML: `clean`.

Every string from IRC, SMS or a client that ends up in a stanza (bodies, subjects, statuses, nicks, topics,
reasons, notices, form values, URLs) passes `clean` on its way out: the XMPP side applies it to everything it
writes, so no path can forget it. A character XML 1.0 forbids makes the server close the whole component stream
(not-well-formed), which would stop every user's messages, so none may pass.

- IRC formatting codes are removed with their arguments (a colour code takes its digits: "\\x0304bye" -> "bye").
  They are all control characters XML forbids; a transport that renders them (IRC bodies and topics as XEP-0393
  styling) converts them before this runs.
- Form feed and vertical tab (real GSM-7 characters: a page break) become a line feed.
- A lone surrogate becomes U+FFFD; every other character XML 1.0 forbids (C0 controls but tab, LF and CR;
  U+FFFE, U+FFFF) is removed.

Hand-written: the standard library's XML writers escape markup but pass forbidden characters through.
"""

from __future__ import annotations

import re

# Colour codes first (with their optional arguments), then every character XML 1.0 cannot carry.
_FORBIDDEN = re.compile(
    "\x03(?:[0-9]{1,2}(?:,[0-9]{1,2})?)?"  # mIRC colour: fg[,bg]
    "|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"  # hex colour: RRGGBB[,RRGGBB]
    "|[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
)
_REPLACEMENTS = {"\x0b": "\n", "\x0c": "\n"}


def _replace(match: re.Match[str]) -> str:
    found = match.group(0)
    if "\ud800" <= found <= "\udfff":
        return "\ufffd"
    return _REPLACEMENTS.get(found, "")


def clean(text: str) -> str:
    """`text` with nothing XML 1.0 forbids and no IRC formatting code (see the module docstring)."""
    if _FORBIDDEN.search(text) is None:
        return text  # nearly every text: one scan, no copy
    return _FORBIDDEN.sub(_replace, text)


def show(value: str, limit: int = 40) -> str:
    """Foreign text quoted in a reason, a refusal or a log line: escaped (one line) and cut short, so that whatever
    was sent, the answer stays small."""
    return repr(value[:limit]) + ("..." if len(value) > limit else "")
