"""The IRC transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import RegistrationField, TransportDescriptor
from gateway.transports.irc.settings import IrcSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport


class IrcDescriptor(TransportDescriptor):
    kind = "irc"
    settings = IrcSettings

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.irc.transport import IrcTransport

        return IrcTransport

    def commands(self) -> tuple[Command, ...]:
        from gateway.transports.irc.commands import COMMANDS

        return COMMANDS

    def registration_fields(self) -> tuple[RegistrationField, ...]:
        from gateway.transports.irc.addressing import check_nick

        return (RegistrationField("nick", "Default IRC nick, for every network (optional; a nick set for one "
                                          "network with irc-nick wins there)", check_nick),)


DESCRIPTOR = IrcDescriptor()
