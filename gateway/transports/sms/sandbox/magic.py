"""The sandbox's magic destination numbers (documented in the package docstring, `gateway.transports.sms.sandbox`).

All are valid numbers for phonenumbers (area code 500), so the gateway's own number check lets them through.
API errors are `+1500 55` followed by the five-digit Twilio code; delivery failures likewise with a 3xxxx code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ApiFailure:
    """Message creation is refused with this HTTP status and Twilio error."""

    status: int
    code: int
    message: str


@dataclass(frozen=True)
class SlowAnswer:
    """The answer to a create request comes only after the sandbox's `slow_delay`."""

    created: bool  # the message exists (and is listed) even though the client gave up waiting


@dataclass(frozen=True)
class DeliveryFailure:
    """The message is created, then fails in delivery with this final status and ErrorCode."""

    status: Literal["failed", "undelivered"]
    code: int
    message: str


def _api(code: int, message: str, status: int = 400) -> tuple[str, ApiFailure]:
    return f"+1500{55_00000 + code}", ApiFailure(status, code, message)


def _delivery(code: int, status: Literal["failed", "undelivered"], message: str) -> tuple[str, DeliveryFailure]:
    return f"+1500{55_00000 + code}", DeliveryFailure(status, code, message)


API_FAILURES: dict[str, ApiFailure] = dict(
    [
        _api(21211, "The 'To' number is not a valid phone number"),
        _api(21408, "This account may not send SMS to the region of the 'To' number"),
        _api(21602, "A message needs a Body or a MediaUrl"),
        _api(21606, "The 'From' number cannot send messages to this destination"),
        _api(21608, "Trial accounts may only send to verified numbers"),
        _api(21610, "The recipient has unsubscribed (STOP)"),
        _api(21611, "Too many messages are queued for this 'From' number"),
        _api(21612, "The 'To' number cannot be reached by SMS"),
        _api(21614, "The 'To' number cannot receive SMS"),
        _api(21617, "The Body is longer than 1600 characters"),
        _api(21620, "A MediaUrl is not a reachable http(s) URL"),
        _api(21623, "At most 10 MediaUrl values are allowed"),
        _api(21635, "The 'To' number is a landline"),
        _api(20429, "Too Many Requests", status=429),
        ("+15005500500", ApiFailure(500, 20500, "Sandbox internal error (on demand)")),
    ]
)

SLOW: dict[str, SlowAnswer] = {
    "+15005500504": SlowAnswer(created=True),
    "+15005500408": SlowAnswer(created=False),
}

DELIVERY_FAILURES: dict[str, DeliveryFailure] = dict(
    [
        _delivery(30001, "failed", "The sending queue overflowed"),
        _delivery(30002, "failed", "The account is suspended"),
        _delivery(30003, "undelivered", "The handset is unreachable"),
        _delivery(30004, "undelivered", "The message was blocked"),
        _delivery(30005, "undelivered", "The destination handset is unknown"),
        _delivery(30006, "undelivered", "Landline or unreachable carrier"),
        _delivery(30007, "undelivered", "The carrier filtered the message"),
        _delivery(30008, "undelivered", "The carrier reported an unknown error"),
    ]
)

# Created and sent, but no final status ever comes (a receipt that never arrives).
NEVER_DELIVERED = "+15005500202"


def magic_number(code: int) -> str:
    """The magic destination number that triggers Twilio error `code` (API or delivery)."""
    number = f"+1500{55_00000 + code}"
    if number not in API_FAILURES and number not in DELIVERY_FAILURES:
        raise KeyError(f"no magic number for error {code}")
    return number
