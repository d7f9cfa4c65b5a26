"""The SMS transport as the shared layers see it (registered as an entry point in pyproject.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.transports.descriptor import ContactAddresses, SubParsers, TransportDemo, TransportDescriptor
from gateway.transports.sms.settings import SmsSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport


class SmsDescriptor(TransportDescriptor):
    kind = "sms"
    title = "SMS"
    settings = SmsSettings

    registration_note = "Phone numbers are bound by an admin, not by registering."
    # Daily usage is kept: leaving and being added again must not reset the limit; it goes with the user row.
    instance_tables = ("sms_blocks",)
    migrations = "gateway.transports.sms.migrations"  # its tables on a branch of their own, labelled sms

    def adapter_class(self) -> type[Transport[Any]]:
        from gateway.transports.sms.transport import SmsTransport

        return SmsTransport

    def commands(self) -> tuple[Command, ...]:
        from gateway.transports.sms.commands import COMMANDS

        return COMMANDS

    def contact_addresses(self) -> ContactAddresses:
        from gateway.transports.sms.admin import contact_address

        return ContactAddresses(
            metavar="NUMBER", example="+14155552671", description="a phone number, e.g. +14155552671",
            csv_description="a phone number, +14155552671 (or national, in the configured default region)",
            parse=contact_address, bind_command="xmpp-gateway admin sms bind")

    def add_cli(self, admin: SubParsers, commands: SubParsers) -> None:
        from gateway.transports.sms.cli import add_cli

        add_cli(admin, commands)

    def demo(self) -> TransportDemo:
        from gateway.transports.sms.demo import SmsDemo

        return SmsDemo()


DESCRIPTOR = SmsDescriptor()
