"""Twilio error codes as the XMPP user sees them: a stanza error condition and a text in plain words.

API errors (2xxxx) come back when a message is created; delivery errors (3xxxx) arrive later in status callbacks
as ErrorCode. Each text says what happened and what the user can do. The texts are our own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.core.events import ErrorCondition, ErrorType


@dataclass(frozen=True)
class TwilioErrorInfo:
    code: int
    condition: ErrorCondition
    type: ErrorType
    text: str
    opt_out: bool = False  # the recipient has unsubscribed: refuse further texts locally until they opt in again


def _info(code: int, condition: ErrorCondition, type_: ErrorType, text: str, *, opt_out: bool = False
          ) -> TwilioErrorInfo:
    return TwilioErrorInfo(code, condition, type_, text, opt_out)


_ADMIN = "Please tell the gateway's administrator."

TWILIO_ERRORS: dict[int, TwilioErrorInfo] = {
    info.code: info
    for info in (
        # -- API errors: the message was refused when we tried to create it; nothing was sent -----------------
        _info(20003, "internal-server-error", "cancel",
              f"The SMS provider did not accept the gateway's credentials, so nothing was sent. {_ADMIN}"),
        _info(20429, "resource-constraint", "wait",
              "The SMS provider is receiving too many requests from this gateway right now. Your text was not "
              "sent; try again in a minute."),
        _info(21211, "jid-malformed", "modify",
              "The SMS provider says this is not a valid phone number, so nothing was sent. Check the number "
              "(country code included) and try again."),
        _info(21408, "not-allowed", "cancel",
              f"This gateway is not permitted to send texts to that country or region, so nothing was sent. "
              f"{_ADMIN}"),
        _info(21602, "bad-request", "modify",
              "The text was empty, so nothing was sent. Write something (or attach a file) and send it again."),
        _info(21606, "service-unavailable", "cancel",
              f"The number you send from cannot send texts to this destination, so nothing was sent. {_ADMIN}"),
        _info(21608, "not-allowed", "cancel",
              "The gateway's SMS account is a trial account and may only text numbers verified with the "
              f"provider, so nothing was sent. {_ADMIN}"),
        _info(21610, "forbidden", "cancel",
              "This person has unsubscribed from your number by texting STOP, so nothing was sent. They can opt "
              "in again by texting START to you.", opt_out=True),
        _info(21611, "resource-constraint", "wait",
              "Your number has too many texts waiting to go out. This one was not sent; wait a few minutes and "
              "try again."),
        _info(21612, "recipient-unavailable", "cancel",
              "The SMS provider cannot reach this number from your number (the route is not supported), so "
              "nothing was sent. Check the number; if it is right, tell the gateway's administrator."),
        _info(21614, "not-acceptable", "cancel",
              "This number cannot receive text messages (it may be a landline), so nothing was sent. Try a "
              "mobile number instead."),
        _info(21617, "not-acceptable", "modify",
              "The text is longer than the 1,600 characters an SMS may have, so nothing was sent. Shorten it "
              "or send it in several messages."),
        _info(21620, "bad-request", "modify",
              "An attachment's address could not be used by the SMS provider, so nothing was sent. Check that "
              "the file is reachable on the internet and try again."),
        _info(21623, "not-acceptable", "modify",
              "A text may carry at most 10 attachments, so nothing was sent. Send fewer files at once."),
        _info(21635, "not-acceptable", "cancel",
              "This number is a landline and cannot receive texts, so nothing was sent. Try a mobile number "
              "instead."),
        # -- delivery errors: the provider took the message, then the network could not deliver it -----------
        _info(30001, "resource-constraint", "wait",
              "Your text was not delivered: too many messages were waiting to go out from your number. Send it "
              "again in a few minutes."),
        _info(30002, "internal-server-error", "cancel",
              f"Your text was not delivered because the gateway's SMS account is suspended. {_ADMIN}"),
        _info(30003, "recipient-unavailable", "wait",
              "Your text was not delivered: the phone is unreachable (switched off or out of coverage). Try "
              "again later."),
        _info(30004, "forbidden", "cancel",
              "Your text was not delivered: the recipient or their carrier blocks messages from your number."),
        _info(30005, "item-not-found", "cancel",
              "Your text was not delivered: this number does not exist or is no longer in service. Check the "
              "number."),
        _info(30006, "not-acceptable", "cancel",
              "Your text was not delivered: the number is a landline or its carrier cannot receive texts. Try "
              "a mobile number instead."),
        _info(30007, "not-acceptable", "cancel",
              "Your text was not delivered: the carrier filtered it (it may have looked like spam). Rephrase it, "
              "avoid link shorteners, and try again; if it keeps happening, tell the gateway's administrator."),
        _info(30008, "undefined-condition", "wait",
              "Your text was not delivered, and the carrier gave no reason. Try again later; if it keeps "
              "happening, tell the gateway's administrator."),
    )
}

# Required by the SMS issue: every one of these must have an entry (the tests check it).
API_ERROR_CODES = (20003, 20429, 21211, 21408, 21602, 21606, 21608, 21610, 21611, 21612, 21614, 21635)
DELIVERY_ERROR_CODES = (30001, 30003, 30004, 30005, 30006, 30007, 30008)


def describe(code: int | None, provider_message: str | None = None) -> TwilioErrorInfo:
    """What to tell the user about Twilio error `code`; unknown codes get a general text that names the code."""
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code]
    detail = f" ({provider_message.strip()})" if provider_message and provider_message.strip() else ""
    if code is not None and 30000 <= code < 40000:
        return TwilioErrorInfo(
            code, "undefined-condition", "cancel",
            f"Your text was not delivered: the SMS provider reported error {code}{detail}. Try again later; if it "
            "keeps happening, tell the gateway's administrator.",
        )
    number = f" {code}" if code is not None else ""
    return TwilioErrorInfo(
        code or 0, "undefined-condition", "cancel",
        f"The SMS provider refused your text with error{number}{detail}, so nothing was sent. If this keeps "
        "happening, tell the gateway's administrator.",
    )


_NOT_DELIVERED = "Your text was not delivered"


def part_not_delivered(info: TwilioErrorInfo, part: int, parts: int) -> TwilioErrorInfo:
    """`info` for one part of a text sent in several: the text names the part ("Part 1 of 2 was not delivered: ...")."""
    reason = info.text.removeprefix(_NOT_DELIVERED) if info.text.startswith(_NOT_DELIVERED) else f": {info.text}"
    return replace(info, text=f"Part {part} of {parts} was not delivered{reason}")
