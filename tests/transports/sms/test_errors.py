from __future__ import annotations

import pytest

from gateway.transports.sms.errors import API_ERROR_CODES, DELIVERY_ERROR_CODES, TWILIO_ERRORS, describe

# RFC 6120, section 8.3.3
CONDITIONS = {
    "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone", "internal-server-error",
    "item-not-found", "jid-malformed", "not-acceptable", "not-allowed", "not-authorized", "policy-violation",
    "recipient-unavailable", "redirect", "registration-required", "remote-server-not-found",
    "remote-server-timeout", "resource-constraint", "service-unavailable", "subscription-required",
    "undefined-condition", "unexpected-request",
}

REQUIRED = (20003, 20429, 21211, 21408, 21602, 21606, 21608, 21610, 21611, 21612, 21614, 21635,
            30001, 30003, 30004, 30005, 30006, 30007, 30008)


def test_required_codes_are_declared() -> None:
    assert set(REQUIRED) == set(API_ERROR_CODES) | set(DELIVERY_ERROR_CODES)


@pytest.mark.parametrize("code", REQUIRED)
def test_every_required_code_has_a_condition_and_a_text(code: int) -> None:
    info = TWILIO_ERRORS[code]
    assert describe(code) is info
    assert info.code == code
    assert info.condition in CONDITIONS
    assert info.type in ("cancel", "wait", "modify", "auth")
    assert len(info.text) > 40 and info.text.endswith(".")


def test_texts_are_distinct() -> None:
    texts = [info.text for info in TWILIO_ERRORS.values()]
    assert len(set(texts)) == len(texts)


def test_delivery_texts_say_the_text_was_not_delivered() -> None:
    for code in DELIVERY_ERROR_CODES:
        assert "not delivered" in TWILIO_ERRORS[code].text


def test_only_21610_is_an_opt_out() -> None:
    assert [code for code, info in TWILIO_ERRORS.items() if info.opt_out] == [21610]
    assert "START" in TWILIO_ERRORS[21610].text


def test_unknown_api_code_falls_back_with_the_code_and_provider_text() -> None:
    info = describe(21999, "Something odd")
    assert info.condition == "undefined-condition"
    assert "21999" in info.text and "Something odd" in info.text and "nothing was sent" in info.text


def test_unknown_delivery_code_says_not_delivered() -> None:
    info = describe(30999)
    assert "30999" in info.text and "not delivered" in info.text


def test_no_code_at_all() -> None:
    info = describe(None)
    assert info.condition == "undefined-condition" and info.text
