from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.transports.sms.settings import SmsSettings

SID = "AC" + "0123456789abcdef" * 2


def settings(**overrides: Any) -> SmsSettings:
    values: dict[str, Any] = {"jid": "sms.example.org", "secret": "s", "account_sid": SID, "auth_token": "tok-s3cr3t"}
    return SmsSettings(**(values | overrides))


def test_defaults() -> None:
    s = settings()
    assert s.api_base_url == "https://api.twilio.com"
    assert (s.default_region, s.rate, s.burst, s.daily_segment_limit) == ("US", 1.0, 1, 500)
    assert (s.long_messages, s.request_timeout, s.messaging_service_sid, s.number_check) == ("split", 15, None, "valid")
    assert s.auth_token.get_secret_value() == "tok-s3cr3t" and "s3cr3t" not in repr(s)


def test_normalised_values() -> None:
    s = settings(default_region="gb", api_base_url="http://127.0.0.1:8088/", messaging_service_sid="MG" + "a" * 32)
    assert (s.default_region, s.api_base_url) == ("GB", "http://127.0.0.1:8088")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("account_sid", "AC123"),
        ("account_sid", "MG" + "0" * 32),
        ("account_sid", "AC" + "G" * 32),
        ("auth_token", " "),
        ("messaging_service_sid", "AC" + "0" * 32),
        ("default_region", "XX"),
        ("default_region", "USA"),
        ("api_base_url", "ftp://example.org"),
        ("api_base_url", "api.twilio.com"),
        ("rate", 0),
        ("burst", 0),
        ("daily_segment_limit", 0),
        ("long_messages", "truncate"),
        ("request_timeout", 0),
        ("number_check", "none"),
        ("unknown_key", 1),
    ],
)
def test_bad_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        settings(**{key: value})
    assert key in str(info.value)
