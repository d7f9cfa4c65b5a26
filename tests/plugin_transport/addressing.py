"""Pager numbers: `p` and 2 to 8 digits; an admin may type them with spaces, dashes and a capital P."""

from __future__ import annotations

import re

from gateway.transports.base import AddressError

_NUMBER = re.compile(r"p\d{2,8}")
_NAME = re.compile(r"[a-z]{1,16}")


def pager_number(text: str) -> str:
    number = re.sub(r"[\s-]", "", text).lower()
    if not _NUMBER.fullmatch(number):
        raise AddressError(f"{text!r} is no pager number (p and 2 to 8 digits, e.g. p1234).")
    return number


def pager_name(text: str) -> str:
    """The name a pager shows its owner as (registration's `nick`)."""
    if not _NAME.fullmatch(text):
        raise AddressError("A pager name is 1 to 16 letters a-z.")
    return text
