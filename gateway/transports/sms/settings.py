"""The `[transports.sms]` table: Twilio credentials, the API base URL, numbering and cost-control settings."""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
from pydantic import Field, SecretStr, field_validator

from gateway.transports.settings import TransportSettings

TWILIO_API_BASE_URL = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")
_BASE_URL = re.compile(r"^https?://[^/?#\s]+(/[^?#\s]*)?$")

LongMessages = Literal["split", "refuse"]
NumberCheck = Literal["valid", "possible"]


class SmsSettings(TransportSettings):
    account_sid: str = Field(description="the Twilio account SID: AC followed by 32 hex digits")
    auth_token: SecretStr = Field(description="the account's auth token: authenticates API calls, signs webhooks")
    api_base_url: str = Field(
        default=TWILIO_API_BASE_URL, description="where the Twilio API is reached: Twilio's, or the sandbox's"
    )
    messaging_service_sid: str | None = Field(
        default=None, description="send through this Messaging Service (MG...) instead of the user's own number"
    )
    default_region: str = Field(
        default="US", description="ISO 3166 country whose national format is understood when deriving numbers"
    )
    number_check: NumberCheck = Field(
        default="valid",
        description="'valid': numbers must exist in phonenumbers' numbering plan; 'possible': a plausible length is "
        "enough (fictional +1 555 numbers in a demo against the sandbox)",
    )
    rate: float = Field(default=1.0, gt=0, description="messages per second per sending number")
    burst: int = Field(default=1, ge=1, description="messages a sending number may send at once before throttling")
    daily_segment_limit: int = Field(default=500, ge=1, description="SMS segments per user per day")
    long_messages: LongMessages = Field(
        default="split", description="a body over 1,600 characters: 'split' into parts or 'refuse'"
    )
    request_timeout: float = Field(default=15.0, gt=0, description="seconds to wait for an answer from the API")
    max_requests: int = Field(
        default=50, ge=1, description="requests to the API at once, over all sending numbers (more wait their "
                                      "turn; Twilio answers 429 past an account's concurrency limit)"
    )

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        value = value.strip()
        if not _ACCOUNT_SID.match(value):
            raise ValueError(f"{value!r} is no Twilio account SID (AC followed by 32 lower-case hex digits)")
        return value

    @field_validator("auth_token")
    @classmethod
    def _auth_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the auth token is empty")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not _BASE_URL.match(value):
            raise ValueError(f"{value!r} is no http(s) URL (e.g. https://api.twilio.com or http://127.0.0.1:8088)")
        return value

    @field_validator("messaging_service_sid")
    @classmethod
    def _service_sid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _SERVICE_SID.match(value):
            raise ValueError(f"{value!r} is no Messaging Service SID (MG followed by 32 lower-case hex digits)")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is no country code phonenumbers knows (ISO 3166 alpha-2, e.g. US, GB, DE)")
        return value
