"""A Twilio webhook's body, read without trusting it.

`signed_fields` reads the body leniently and cannot fail (bad bytes become U+FFFD), so the signature is checked
before anything about the request can raise. `Form.parse` reads it strictly, once the signature holds (again, only
where the lenient reading replaced something); a refusal there is a 400 or 415 with its reason, never a 500. Every
refusal is a `Refused`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from gateway.core.text import show

MAX_BODY = 64 * 1024  # bytes; a Twilio webhook is a few KB
MAX_FIELDS = 200  # Twilio sends 20 to 40, media included
MAX_VALUE = 8 * 1024  # characters; an inbound Body has at most 1,600
FORM_TYPE = "application/x-www-form-urlencoded"  # all Twilio sends to a messaging webhook
_DIGITS = re.compile(r"[0-9]+")  # not str.isdigit(): that takes '²', which int() refuses


class Refused(Exception):
    """A request answered with a 4xx `status` and `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def read_body(request: web.Request) -> bytes:
    """The raw body, never read past MAX_BODY."""
    too_large = Refused(413, f"the body is larger than {MAX_BODY} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_large
    body = bytearray()
    try:
        while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
            body += chunk
            if len(body) > MAX_BODY:
                raise too_large
    except web.RequestPayloadError as exc:  # e.g. a Content-Encoding that does not decode
        raise Refused(400, f"the body could not be read: {show(str(exc), 80)}") from None
    # aiohttp's request.post() stripped trailing whitespace before parsing, and so do we.
    return bytes(body).rstrip()


def signed_fields(body: bytes) -> MultiDict[str]:
    """The fields as Twilio's signature covers them, every value of a repeated name included."""
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, errors="replace",
                          max_num_fields=MAX_FIELDS)
    except ValueError:  # only raised for the number of fields
        raise Refused(400, f"the body has more than {MAX_FIELDS} parameters") from None
    return MultiDict(pairs)


class Form:
    """The fields of a signed request; a field we read must appear at most once and be of bounded length."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = MultiDict(fields)

    @classmethod
    def parse(cls, request: web.Request, body: bytes, signed: MultiDict[str] | None = None) -> Form:
        """`signed`: the body's `signed_fields`. Where no character in them was replaced (no U+FFFD, the case of
        every body that is valid UTF-8), the strict reading would give the same: they are taken as they are."""
        if request.content_type != FORM_TYPE:
            raise Refused(415, f"the body must be {FORM_TYPE}, not {show(request.content_type)}")
        if request.charset is not None and request.charset.lower() not in ("utf-8", "utf8"):
            raise Refused(415, f"the charset must be utf-8, not {show(request.charset)}")
        if signed is not None and not any("\ufffd" in name or "\ufffd" in value for name, value in signed.items()):
            pairs = list(signed.items())
        else:
            try:
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict",
                                  max_num_fields=MAX_FIELDS)
            except ValueError:  # UnicodeDecodeError, of the body or of a %-escape
                raise Refused(400, "the body is not valid UTF-8") from None
        for name, value in pairs:
            if len(name) > MAX_VALUE or len(value) > MAX_VALUE:
                raise Refused(400, f"parameter {show(name)} is longer than {MAX_VALUE} characters")
        return cls(MultiDict(pairs))

    def get(self, name: str, max_length: int = MAX_VALUE) -> str:
        """The field's value, "" when absent; a NUL in it is refused (PostgreSQL text cannot hold one)."""
        value = self._one(name, max_length)
        if "\0" in value:
            raise Refused(400, f"{name} holds a NUL character")
        return value

    def text(self, name: str) -> str:
        """A field a person wrote (a text's Body), "" when absent: a NUL in it is dropped, not refused, so that
        the text is kept (the form stays as it was signed; only what is stored lacks the NUL)."""
        return self._one(name, MAX_VALUE).replace("\0", "")

    def _one(self, name: str, max_length: int) -> str:
        values = self._fields.getall(name, [])
        if len(values) > 1:
            raise Refused(400, f"{name} is repeated")
        value = values[0] if values else ""
        if len(value) > max_length:
            raise Refused(400, f"{name} is longer than {max_length} characters")
        return value

    def require(self, *names: str, max_length: int = MAX_VALUE) -> list[str]:
        """The values of these fields, none of them empty."""
        values = [self.get(name, max_length) for name in names]
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        if missing:
            raise Refused(400, f"missing parameter(s): {', '.join(missing)}")
        return values

    def number(self, name: str, low: int, high: int, default: int | None = None) -> int:
        """The field as an integer from `low` to `high` written in ASCII digits; `default` if absent or empty."""
        value = self.get(name)
        if not value and default is not None:
            return default
        if not (_DIGITS.fullmatch(value) and len(value) <= len(str(high)) and low <= int(value) <= high):
            raise Refused(400, f"{name} is not a number from {low} to {high}: {show(value)}")
        return int(value)
