"""The IRC transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import ContactAddresses, RegistrationField, SubParsers, TransportDescriptor
from gateway.transports.irc.settings import IrcSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport


class IrcDescriptor(TransportDescriptor):
    kind = "irc"
    title = "IRC"
    settings = IrcSettings
    # nick, credentials and always-on per network, and channels kept while away: apart for each IRC transport
    instance_tables = ("irc_accounts", "irc_kept_channels")
    migrations = "gateway.transports.irc.migrations"  # its tables on a branch of their own, labelled irc

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.irc.transport import IrcTransport

        return IrcTransport

    def commands(self) -> tuple[Command, ...]:
        from gateway.transports.irc.commands import COMMANDS

        return COMMANDS

    def contact_addresses(self) -> ContactAddresses:
        from gateway.transports.irc.addressing import EXAMPLE_NICK
        from gateway.transports.irc.admin import contact_address

        return ContactAddresses(metavar="NICK%NETWORK", example=EXAMPLE_NICK,
                                description=f"an IRC nick on a network, e.g. {EXAMPLE_NICK}",
                                csv_description=f"nick%network, e.g. {EXAMPLE_NICK}", parse=contact_address)

    def registration_fields(self) -> tuple[RegistrationField, ...]:
        from gateway.transports.irc.addressing import check_nick

        return (RegistrationField("nick", "Default IRC nick, for every network (optional; a nick set for one "
                                          "network with irc-nick wins there)", check_nick),)

    def add_cli(self, admin: SubParsers, commands: SubParsers) -> None:
        from gateway.transports.irc.cli import add_cli

        add_cli(admin, commands)


DESCRIPTOR = IrcDescriptor()
