"""Received IRC lines, parsed: IRCv3 tags, the source, the command and its parameters.

Parsed by hand: irctokens, the sans-IO tokenizer, ends a line at its first NUL or CR, and a hostile server's
lines must be read whole to be refused or cleaned (a PING token, a nick holding NUL); jaraco's `irc` keeps a tag
value's trailing lone backslash, which the IRCv3 message-tags spec drops.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gateway.transports.irc.lines import decode

# Parts are separated by spaces only: \S would also end a part at U+0085 or U+2028, which a nick may hold.
_LINE = re.compile(r"^(?:@(?P<tags>[^ ]+) +)?(?::(?P<source>[^ ]+) +)?(?P<command>[^ ]+)(?P<params>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Line:
    """One line a server sent, parsed."""

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def nick(self) -> str | None:
        """The nick of the source (`nick!user@host`), or the server name for a server's line."""
        return self.source.split("!", 1)[0] if self.source else None

    @property
    def user_host(self) -> tuple[str | None, str | None]:
        """(user, host) from a `nick!user@host` source; (None, None) when the source has no such parts."""
        if not self.source or "!" not in self.source:
            return None, None
        rest = self.source.split("!", 1)[1]
        user, _, host = rest.partition("@")
        return user or None, host or None

    @property
    def from_server(self) -> bool:
        """A line from a server (no `!` in the source, a dot in the name), not from a user."""
        return self.source is not None and "!" not in self.source and "." in self.source

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if -len(self.params) <= index < len(self.params) else default

    @property
    def server_time(self) -> datetime | None:
        """The IRCv3 server-time tag as an aware datetime, None when absent or unreadable."""
        value = self.tags.get("time")
        if not value:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


@functools.lru_cache(maxsize=1024)
def parse_received(data: bytes, fallback: str) -> Line | None:
    """A received line (CRLF included or not) decoded and parsed. A line said in a channel reaches each user's
    connection to it, byte for byte the same: it is parsed once (a Line is immutable, so the copies share it)."""
    return parse(decode(data.rstrip(b"\r\n"), fallback))


def parse(raw: str) -> Line | None:
    """A line without its CRLF, parsed; None for an empty or unreadable line."""
    raw = raw.rstrip("\r\n")
    match = _LINE.match(raw)
    if match is None or not raw.strip():
        return None
    params: list[str] = []
    rest = match["params"]
    while rest:
        rest = rest.lstrip(" ")
        if not rest:
            break
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        word, _, rest = rest.partition(" ")
        params.append(word)
    tags: dict[str, str] = {}
    for item in (match["tags"] or "").split(";"):
        if item:
            key, _, value = item.partition("=")
            tags[key] = _unescape(value)
    return Line(command=match["command"].upper(), params=tuple(params), source=match["source"], tags=tags)


_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def _unescape(value: str) -> str:
    """An IRCv3 tag value: `\\:` `\\s` `\\\\` `\\r` `\\n` unescaped, another escaped character stands for itself,
    a backslash at the end is dropped."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            out.append(_ESCAPES.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


def words(text: str) -> list[str]:
    """The space-separated items of a parameter. Not str.split(): that also splits at U+0085, U+2028 and other
    characters Python calls whitespace, which a nick may hold."""
    return [word for word in text.split(" ") if word]
