"""What goes onto an IRC socket and what comes off it, as text.

Out: every parameter is checked before a line is built, so CR, LF and NUL never reach the socket except as the
line end: a nick, channel or other middle parameter holding one is refused (`UnsafeParameter`), a subject is
made one line, and a message body becomes one PRIVMSG per line. A line longer than the server allows
(`max_line_bytes` with CRLF, counted with the prefix `:nick!user@host PRIVMSG target :` the server puts in front
when it relays it) is split at word boundaries, never inside a UTF-8 character nor, where avoidable, inside a
grapheme cluster. `/me` bodies become CTCP ACTIONs and CTCP ACTIONs become `/me` bodies.

In: `decode` reads UTF-8, else the network's fallback encoding, and never raises.

The splitter and the grapheme rules are hand-written: neither the standard library nor an IRC library splits
text to a byte budget, and the project carries no Unicode segmentation library. The rules cover what users send:
combining marks, ZWJ emoji sequences, skin-tone modifiers, variation selectors, flag pairs and tag sequences,
Hangul jamo.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.core.events import Refusal

CTCP = "\x01"
ACTION_PREFIX = "/me "
FORBIDDEN = ("\r", "\n", "\0")
DEFAULT_MAX_LINE_BYTES = 512
# When our own user@host is not known yet, assume the longest a server is likely to show.
ASSUMED_USER_BYTES = 11  # USERLEN 10 plus the "~" of a user without ident
ASSUMED_HOST_BYTES = 63
MIN_TEXT_BYTES = 16  # below this a target or nick is absurdly long: refuse instead of sending crumbs

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_COMMAND = re.compile(r"^(?:[A-Za-z]+|[0-9]{3})$")


class UnsafeParameter(Refusal):
    """A parameter that would break the IRC line (CR, LF, NUL, blank...): nothing was sent."""

    def __init__(self, text: str) -> None:
        super().__init__("bad-request", text)


def _named(ch: str) -> str:
    return {"\r": "CR", "\n": "LF", "\0": "NUL", " ": "a space"}.get(ch, repr(ch))


def check_param(value: str, what: str = "parameter") -> str:
    """A middle parameter (nick, channel, key, mode...): returned unchanged, or UnsafeParameter.

    It must be non-empty and hold no CR, LF, NUL or space, and must not start with ':' (which would turn it and
    everything after it into the trailing parameter).
    """
    if not value:
        raise UnsafeParameter(f"The {what} is empty.")
    bad = [ch for ch in (*FORBIDDEN, " ") if ch in value]
    if bad:
        raise UnsafeParameter(f"The {what} {value!r} contains {', '.join(map(_named, bad))}, which IRC cannot carry.")
    if value.startswith(":"):
        raise UnsafeParameter(f"The {what} {value!r} starts with ':', which IRC cannot carry.")
    return value


def check_trailing(value: str, what: str = "text") -> str:
    """A trailing parameter as given, or UnsafeParameter if it holds CR, LF or NUL."""
    bad = [ch for ch in FORBIDDEN if ch in value]
    if bad:
        raise UnsafeParameter(f"The {what} contains {', '.join(map(_named, bad))}, which IRC cannot carry.")
    return value


def one_line(text: str) -> str:
    """A trailing text (subject, part or quit reason, away message) made safe: line breaks become one space
    each, NUL and the CTCP delimiter go."""
    return " ".join(part.strip() for part in _LINE_BREAKS.split(text)).replace("\0", "").replace(CTCP, "").strip()


def build_line(command: str, *params: str, trailing: str | None = None) -> str:
    """`COMMAND p1 p2 :trailing` (no CRLF) from checked parts; UnsafeParameter if any part could break it."""
    if not _COMMAND.match(command):
        raise UnsafeParameter(f"{command!r} is no IRC command.")
    parts = [command.upper(), *(check_param(p) for p in params)]
    if trailing is not None:
        parts.append(":" + check_trailing(trailing))
    return " ".join(parts)


def encode_line(line: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> bytes:
    """The bytes to write for a built line, CRLF added: the last check before the socket."""
    check_trailing(line, "line")
    data = line.encode("utf-8") + b"\r\n"
    if len(data) > max_line_bytes:
        raise UnsafeParameter(f"The line is {len(data)} bytes long; the server takes at most {max_line_bytes}.")
    return data


# -- message bodies --------------------------------------------------------------------------------------------


def body_lines(body: str) -> list[str]:
    """The lines of a message body, each to be one PRIVMSG: NUL and CTCP delimiters removed, empty lines dropped
    (IRC cannot send an empty message), trailing blanks trimmed, leading blanks (indentation) kept."""
    cleaned = body.replace("\0", "").replace(CTCP, "")
    return [line.rstrip() for line in _LINE_BREAKS.split(cleaned) if line.strip()]


def text_budget(
    max_line_bytes: int,
    nick: str,
    target: str,
    *,
    user: str | None = None,
    host: str | None = None,
    command: str = "PRIVMSG",
    action: bool = False,
) -> int:
    """Bytes of text one line can carry: the limit minus `:nick!user@host COMMAND target :`, CRLF and, for an
    ACTION, its CTCP wrapping. Unknown user or host count as the longest likely."""
    user_bytes = len(user.encode()) if user is not None else ASSUMED_USER_BYTES
    host_bytes = len(host.encode()) if host is not None else ASSUMED_HOST_BYTES
    prefix = 1 + len(nick.encode()) + 1 + user_bytes + 1 + host_bytes  # :nick!user@host
    overhead = prefix + 1 + len(command) + 1 + len(target.encode()) + 2 + 2  # " CMD target :" and CRLF
    if action:
        overhead += len(f"{CTCP}ACTION {CTCP}")
    budget = max_line_bytes - overhead
    if budget < MIN_TEXT_BYTES:
        raise UnsafeParameter(f"The target {target[:30]!r} leaves no room for text in an IRC line.")
    return budget


@dataclass(frozen=True)
class OutgoingMessage:
    """One IRC line to send for a message, and the text it carries (for reflection to XMPP)."""

    line: str
    text: str
    action: bool = False


def split_action(body: str) -> tuple[bool, str]:
    """(is /me, the text): XEP-0245 marks a whole body as an action with a leading "/me "."""
    if body.startswith(ACTION_PREFIX):
        return True, body[len(ACTION_PREFIX) :]
    return False, body


def privmsg_lines(
    target: str,
    body: str,
    *,
    nick: str,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    user: str | None = None,
    host: str | None = None,
    command: str = "PRIVMSG",
    action: bool | None = None,
) -> list[OutgoingMessage]:
    """The PRIVMSG (or NOTICE) lines for an XMPP body to `target`, in order.

    `action=None` reads a leading "/me " as an action; True or False forces it. Each body line is split to fit
    the server's limit with our real prefix. An empty result means there was no text to send.
    """
    check_param(target, "target")
    check_param(nick, "nick")
    if command not in ("PRIVMSG", "NOTICE"):
        raise UnsafeParameter(f"{command!r} does not carry messages.")
    if action is None:
        action, body = split_action(body)
    budget = text_budget(max_line_bytes, nick, target, user=user, host=host, command=command, action=action)
    out: list[OutgoingMessage] = []
    for line in body_lines(body):
        for piece in split_text(line, budget):
            payload = f"{CTCP}ACTION {piece}{CTCP}" if action else piece
            out.append(OutgoingMessage(build_line(command, target, trailing=payload), piece, action))
    return out


def ctcp_action(text: str) -> str | None:
    """The action text of a received CTCP ACTION (`\\x01ACTION waves\\x01`), None for anything else.

    The closing delimiter is optional, as some clients omit it. (`irc.client` already turns ACTIONs into "action"
    events; this serves raw lines and tests.)
    """
    if not text.startswith(CTCP + "ACTION"):
        return None
    rest = text[len(CTCP + "ACTION") :]
    if rest and not rest.startswith(" ") and rest != CTCP:
        return None  # e.g. \x01ACTIONS...: another CTCP
    return rest.removeprefix(" ").removesuffix(CTCP)


def incoming_body(text: str, action: bool = False) -> str:
    """The XMPP body for a received message text: an action becomes "/me text"."""
    return ACTION_PREFIX + text if action else text


# -- splitting -------------------------------------------------------------------------------------------------


def split_text(text: str, limit: int) -> list[str]:
    """`text` (one line) in pieces of at most `limit` UTF-8 bytes, cut at the last blank that fits, else at the
    last grapheme cluster boundary, else (a single cluster longer than the limit) at a character boundary.
    Blanks at a cut are dropped; the pieces are never empty."""
    if limit < 4:
        raise ValueError("a limit below 4 bytes cannot hold every character")
    pieces: list[str] = []
    rest = text
    while len(rest.encode()) > limit:
        fit = _chars_fitting(rest, limit)
        cut = _last_blank(rest, fit)
        if cut is not None:
            pieces.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
            continue
        cut = _last_boundary(rest, fit)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def _chars_fitting(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-8 bytes."""
    used = 0
    for index, ch in enumerate(text):
        used += _utf8_len(ch)
        if used > limit:
            return index
    return len(text)


def _utf8_len(ch: str) -> int:
    code = ord(ch)
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


def _last_blank(text: str, fit: int) -> int | None:
    """Index of the last blank within the first `fit + 1` characters (a blank right after the fitting part is
    a fine cut too) that leaves a non-blank piece before it; None if there is none."""
    for index in range(min(fit, len(text) - 1), 0, -1):
        if text[index].isspace() and text[:index].strip() and _is_boundary(text, index):
            return index
    return None


def _last_boundary(text: str, fit: int) -> int:
    for index in range(fit, 0, -1):
        if _is_boundary(text, index):
            return index
    return max(fit, 1)  # one cluster longer than the limit: cut it between characters


_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    """Does `ch` attach to the character before it (no cluster boundary before it)?"""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining marks, variation selectors
        or ch == _ZWJ
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # Hangul jamo vowels and trailing consonants
        or 0xD7B0 <= code <= 0xD7FF
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_boundary(text: str, index: int) -> bool:
    """May `text` be cut before `text[index]` without splitting a grapheme cluster (approximately UAX #29)?"""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if _extends(after) or before == _ZWJ:
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # flags are pairs: cut only between pairs
    return True


# -- incoming bytes --------------------------------------------------------------------------------------------


def decode(data: bytes, fallback: str = "latin-1") -> str:
    """Received bytes as text: UTF-8 if they are, else the network's fallback encoding; never raises."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(fallback, errors="replace")
    except LookupError:
        return data.decode("latin-1")  # a fallback that is no text codec: latin-1 decodes every byte
