from __future__ import annotations

import pytest

from gateway.transports.base import AddressError
from gateway.transports.sms.addressing import is_e164, local_part_to_e164, prompt_to_e164


def test_canonical_local_part_is_accepted() -> None:
    assert local_part_to_e164("+12025550123", "US") == "+12025550123"
    assert local_part_to_e164("+442079460958", None) == "+442079460958"


@pytest.mark.parametrize("local", ["2025550123", "12025550123", "(202) 555-0123", "+1 202 555 0123", "+1-202-555-0123"])
def test_non_canonical_local_part_names_the_canonical_jid(local: str) -> None:
    with pytest.raises(AddressError) as info:
        local_part_to_e164(local, "US", domain="sms.example.org")
    assert info.value.condition == "jid-malformed"
    assert "+12025550123@sms.example.org" in info.value.text


def test_national_number_with_another_region_derives_that_country() -> None:
    with pytest.raises(AddressError) as info:
        local_part_to_e164("02079460958", "GB")
    assert "+442079460958" in info.value.text


def test_no_suggestion_without_a_region() -> None:
    with pytest.raises(AddressError) as info:
        local_part_to_e164("2025550123", None, domain="sms.example.org")
    assert "+12025550123" not in info.value.text
    assert "international format" in info.value.text


@pytest.mark.parametrize(
    ("local", "words"),
    [
        ("+15551234567", "not a valid phone number"),  # area code 555 does not exist
        ("+1202555012345", "too many digits"),
        ("+120255", "too few digits"),
        ("+999123456", "not a phone number"),  # no such country code
        ("hello", "not a phone number"),
        ("", "not a phone number"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(local: str, words: str) -> None:
    with pytest.raises(AddressError) as info:
        local_part_to_e164(local, "US")
    assert words in info.value.text


def test_invalid_national_form_is_not_suggested() -> None:
    with pytest.raises(AddressError) as info:
        local_part_to_e164("5551234567", "US")
    assert "not a valid phone number" in info.value.text
    assert "Use " not in info.value.text


def test_possible_check_accepts_fictional_numbers() -> None:
    assert local_part_to_e164("+15551234567", "US", check="possible") == "+15551234567"
    with pytest.raises(AddressError) as info:
        local_part_to_e164("5551234567", "US", check="possible")
    assert "+15551234567" in info.value.text
    with pytest.raises(AddressError):
        local_part_to_e164("+1555123", "US", check="possible")


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("(202) 555-0123", "US", "+12025550123"),
        ("202.555.0123", "US", "+12025550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("  +1 (202) 555-0123 ", None, "+12025550123"),
    ],
)
def test_prompt_turns_what_people_type_into_e164(typed: str, region: str | None, expected: str) -> None:
    assert prompt_to_e164(typed, region) == expected


@pytest.mark.parametrize(
    ("typed", "region", "words"),
    [
        ("", "US", "type a phone number"),
        ("call me", "US", "not a phone number"),
        ("(555) 123-4567", "US", "not a valid phone number"),
        ("020 7946 0958", "US", "too many digits"),
        ("(202) 555-0123", None, "no country code"),
    ],
)
def test_prompt_refuses_with_a_clear_text(typed: str, region: str | None, words: str) -> None:
    with pytest.raises(AddressError) as info:
        prompt_to_e164(typed, region)
    assert words in info.value.text


def test_is_e164() -> None:
    assert is_e164("+12025550123")
    assert not is_e164("12025550123")
    assert not is_e164("+1 202 555 0123")


def test_a_refusal_quotes_only_the_start_of_a_long_input() -> None:
    for parse in (prompt_to_e164, local_part_to_e164):
        with pytest.raises(AddressError) as refused:
            parse("call me " * 10_000)
        assert "'call me call me" in str(refused.value) and len(str(refused.value)) < 200
