"""Each SMS transport instance has webhook paths of its own; one named sms keeps /sms/..., which Twilio numbers
were configured with before there could be several."""

from __future__ import annotations

from typing import Any

from gateway.transports.sms.settings import SmsSettings
from gateway.transports.sms.webhooks import SmsWebhooks, inbound_path, status_path


def _settings() -> SmsSettings:
    return SmsSettings.model_validate({"jid": "sms.example.org", "secret": "s", "account_sid": "AC" + "0" * 32,
                                       "auth_token": "t"})


def _paths(webhooks: SmsWebhooks) -> list[str]:
    routes: list[Any] = webhooks.routes()
    return [route.path for route in routes]


def test_an_instance_named_sms_keeps_the_paths_twilio_knows() -> None:
    assert (inbound_path("sms"), status_path("sms")) == ("/sms/inbound", "/sms/status")
    webhooks = SmsWebhooks(_settings(), "https://gw.example.org", None)  # type: ignore[arg-type]
    assert _paths(webhooks) == ["/sms/inbound", "/sms/status"]


def test_another_instance_has_its_own_prefix() -> None:
    webhooks = SmsWebhooks(_settings(), "https://gw.example.org", None, "sms-work")  # type: ignore[arg-type]
    assert _paths(webhooks) == ["/sms-work/inbound", "/sms-work/status"]
    assert webhooks.status_path == "/sms-work/status"
