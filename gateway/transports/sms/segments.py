"""SMS encoding, segment counting and splitting of long bodies.

Hand-written: no maintained Python library counts segments the way Twilio bills them (GSM-7 with its extension
table, else UCS-2 in UTF-16 code units; 160/153 or 70/67 per segment; an escape sequence or a surrogate pair never
straddles two segments), and the standard library has no grapheme segmentation, so splitting keeps the common
clusters (combining marks, ZWJ sequences, variation selectors, skin tones, flags, keycaps) together by hand.
The character tables are those of 3GPP TS 23.038 (GSM 7-bit default alphabet and its extension table).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# Twilio refuses a Body longer than this (error 21617). Counted here in UTF-16 code units, the stricter reading.
MAX_BODY = 1600

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sent as ESC + a character: two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# (characters in a single segment, characters per segment of a concatenated message), in septets or code units.
LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int  # 0 for an empty body


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _cost(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def count_segments(text: str) -> SegmentInfo:
    encoding = encoding_of(text)
    single, multi = LIMITS[encoding]
    costs = [_cost(char, encoding) for char in text]
    units = sum(costs)
    if units == 0:
        return SegmentInfo(encoding, 0, 0)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:  # a two-unit character moves whole to the next segment
            segments, used = segments + 1, 0
        used += cost
    return SegmentInfo(encoding, units, segments)


# -- splitting ------------------------------------------------------------------------------------------------
_ZWJ = "\u200d"


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends(char: str) -> bool:
    """Does `char` belong to the character before it (so no cut may fall just before it)?"""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_boundary(text: str, index: int) -> bool:
    """May `text` be cut before `text[index]` without breaking a user-perceived character?"""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if _extends(after) or before == _ZWJ or (before == "\r" and after == "\n"):
        return False
    if _is_regional_indicator(after) and _is_regional_indicator(before):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # flags are pairs: cut only between two pairs
    return True


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut(text: str, limit: int) -> tuple[str, str]:
    fit = _fit(text, limit)
    # Best: the last whitespace that leaves the part at least half full.
    for index in range(fit, fit // 2, -1):
        if index < len(text) and text[index].isspace():
            return text[:index].rstrip(), text[index:].lstrip()
    # Else the last boundary between user-perceived characters; a single giant cluster is cut where it must be.
    index = fit
    while index > 0 and not _is_boundary(text, index):
        index -= 1
    if index == 0:
        index = max(fit, 1)
    return text[:index], text[index:]


def split_body(text: str, limit: int = MAX_BODY) -> list[str]:
    """`text` in order, as parts of at most `limit` UTF-16 code units, cut at word boundaries where possible."""
    if limit < 2:
        raise ValueError("a part must hold at least 2 code units")
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        head, rest = _cut(rest, limit)
        if head:
            parts.append(head)
    if rest or not parts:
        parts.append(rest)
    return parts
