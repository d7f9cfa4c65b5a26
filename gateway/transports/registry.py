"""Which transports exist: each one's settings class, and (imported only when used) its adapter."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from gateway.transports.irc.settings import IrcSettings
from gateway.transports.loopback.settings import LoopbackSettings
from gateway.transports.settings import TransportSettings
from gateway.transports.sms.settings import SmsSettings

if TYPE_CHECKING:
    from gateway.transports.base import Transport

SETTINGS: dict[str, type[TransportSettings]] = {
    "irc": IrcSettings,
    "loopback": LoopbackSettings,
    "sms": SmsSettings,
}

_ADAPTERS: dict[str, str] = {
    "irc": "gateway.transports.irc.transport:IrcTransport",
    "loopback": "gateway.transports.loopback.transport:LoopbackTransport",
    "sms": "gateway.transports.sms.transport:SmsTransport",
}


def adapter_class(name: str) -> type[Transport[Any]]:
    module_name, _, attr = _ADAPTERS[name].partition(":")
    cls: type[Transport[Any]] = getattr(import_module(module_name), attr)
    return cls
