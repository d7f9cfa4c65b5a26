"""Settings every transport table shares; each transport subclasses this with its own keys."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

AccessMode = Literal["closed", "allowlist", "open"]

_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TransportSettings(StrictModel):
    jid: str = Field(description="the component's domain, e.g. sms.example.org")
    secret: SecretStr = Field(description="the component secret shared with the XMPP server")
    access: AccessMode = "closed"
    allowlist: tuple[str, ...] = Field(default=(), validate_default=True,
                                       description="JID patterns (fnmatch) for access = allowlist")

    @field_validator("jid")
    @classmethod
    def _domain_only(cls, value: str) -> str:
        value = value.strip().lower()
        if not _DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain name (a component JID has no '@' or '/')")
        return value

    @field_validator("secret")
    @classmethod
    def _non_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the secret is empty")
        return value

    @field_validator("allowlist")
    @classmethod
    def _needed_by_access(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("access") == "allowlist" and not value:
            raise ValueError("access = 'allowlist' needs at least one JID pattern here, e.g. ['*@example.org']")
        return value
