"""Phone numbers as addresses: a contact is `+<E.164>@<sms domain>`. Parsing and validation are phonenumbers'.

- `local_part_to_e164` takes a JID's (unescaped) local part; only the canonical form is accepted, so one phone
  has exactly one JID. Anything else is refused with a text naming the canonical local part when the default
  region lets us derive it.
- `prompt_to_e164` serves XEP-0100 prompts: what a person types ("(555) 123-4567", "+44 20 7946 0958").
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult

from gateway.core.text import show
from gateway.transports.base import AddressError
from gateway.transports.sms.settings import NumberCheck

EXAMPLE = "+14155552671"

_TOO_SHORT = (ValidationResult.TOO_SHORT, ValidationResult.INVALID_LENGTH)


def to_e164(number: PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _jid(local: str, domain: str | None) -> str:
    return f"{local}@{domain}" if domain else local


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _acceptable(number: PhoneNumber, check: NumberCheck) -> bool:
    if check == "possible":
        return bool(phonenumbers.is_possible_number(number))
    return bool(phonenumbers.is_valid_number(number))


def _why_not(number: PhoneNumber, shown: str) -> str:
    """A sentence saying why a parsed number is refused."""
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return f"{shown} is not a phone number: +{number.country_code} is no country calling code."
    if reason in _TOO_SHORT:
        return f"{shown} is not a phone number: it has too few digits for country code +{number.country_code}."
    if reason == ValidationResult.TOO_LONG:
        return f"{shown} is not a phone number: it has too many digits for country code +{number.country_code}."
    plan = f"+{number.country_code}"
    return f"{shown} is not a valid phone number: no such number exists in the numbering plan of {plan}."


def _check(number: PhoneNumber | None, text: str, check: NumberCheck) -> str:
    if number is None:
        raise AddressError(f"{show(text)} is not a phone number. Write it in international format, e.g. {EXAMPLE}.")
    e164 = to_e164(number)
    if not _acceptable(number, check):
        raise AddressError(_why_not(number, e164 if e164 == text else f"{show(text)} (read as {e164})"))
    return e164


def local_part_to_e164(
    local: str, region: str | None = None, *, check: NumberCheck = "valid", domain: str | None = None
) -> str:
    """The E.164 number a JID local part names; raise AddressError unless it is canonical and acceptable.

    `region` (ISO country) is only used to derive a suggestion from a national form; `domain` (the SMS component's
    domain) makes the suggestion a whole JID.
    """
    local = local.strip()
    if local.startswith("+") and local[1:].isdigit():
        return _check(_parse(local, None), local, check)
    # Not canonical: say what the canonical form would be, if we can know it.
    digits = local.lstrip("+")
    number = _parse(local, region) if local.startswith("+") or region else None
    if number is None and region and digits and not local.startswith("+"):
        number = _parse(digits, region)
    if number is not None and _acceptable(number, check):
        canonical = to_e164(number)
        raise AddressError(
            f"{show(local)} is not written as an international number. Use {_jid(canonical, domain)} instead."
        )
    if number is not None:
        raise AddressError(_why_not(number, f"{show(local)} (read as {to_e164(number)})"))
    raise AddressError(
        f"{show(local)} is not a phone number in international format: write + then the country code and the number,"
        f" without spaces, e.g. {_jid(EXAMPLE, domain)}."
    )


def prompt_to_e164(text: str, region: str | None = None, *, check: NumberCheck = "valid") -> str:
    """The E.164 number for what a person typed (XEP-0100 prompt); raise AddressError with a reason if none."""
    text = text.strip()
    if not text:
        raise AddressError(f"Please type a phone number, e.g. {EXAMPLE}.")
    number = _parse(text, region)
    if number is None and not text.lstrip().startswith("+") and region is None:
        raise AddressError(
            f"{show(text)} has no country code and no default region is configured: type it as + then the country"
            f" code and the number, e.g. {EXAMPLE}."
        )
    return _check(number, text, check)


def is_e164(text: str) -> bool:
    """Is `text` written as canonical E.164 (without checking that the number exists)?"""
    number = _parse(text, None) if text.startswith("+") and text[1:].isdigit() else None
    return number is not None and to_e164(number) == text
