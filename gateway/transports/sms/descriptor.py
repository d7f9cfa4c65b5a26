"""The SMS transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import TransportDescriptor
from gateway.transports.sms.settings import SmsSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport


class SmsDescriptor(TransportDescriptor):
    kind = "sms"
    settings = SmsSettings

    registration_note = "Phone numbers are bound by an admin, not by registering."

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.sms.transport import SmsTransport

        return SmsTransport

    def commands(self) -> tuple[Command, ...]:
        from gateway.transports.sms.commands import COMMANDS

        return COMMANDS

DESCRIPTOR = SmsDescriptor()
