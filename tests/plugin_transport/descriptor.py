"""What the pager transport declares; the throwaway distribution's entry point names DESCRIPTOR."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.admin.users import AdminError
from gateway.transports.base import AddressError
from gateway.transports.descriptor import ContactAddresses, RegistrationField, SubParsers, TransportDescriptor
from gateway.transports.settings import TransportSettings
from tests.plugin_transport.settings import PagerSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport


def _contact(text: str, settings: TransportSettings | None) -> str:
    from tests.plugin_transport.addressing import pager_number

    try:
        return pager_number(text)
    except AddressError as error:
        raise AdminError(error.text) from None


class PagerDescriptor(TransportDescriptor):
    kind = "pager"
    title = "Pager"
    settings = PagerSettings
    registration_note = "Your pager name is shown on every page you send."
    user_tables = ("pager_tones",)
    migrations = "tests.plugin_transport.migrations"

    def adapter_class(self) -> type[Transport[Any]]:
        from tests.plugin_transport.transport import PagerTransport

        return PagerTransport

    def commands(self) -> tuple[Command, ...]:
        from tests.plugin_transport.commands import COMMANDS

        return COMMANDS

    def registration_fields(self) -> tuple[RegistrationField, ...]:
        from tests.plugin_transport.addressing import pager_name

        return (RegistrationField("nick", "Pager name (letters a-z)", pager_name),)

    def contact_addresses(self) -> ContactAddresses:
        return ContactAddresses(metavar="PAGER", example="p1234", description="a pager number, e.g. p1234",
                                csv_description="a pager number, p and 2 to 8 digits, e.g. p1234", parse=_contact)

    def add_cli(self, admin: SubParsers, commands: SubParsers) -> None:
        from tests.plugin_transport.cli import add_cli

        add_cli(admin, commands)


DESCRIPTOR = PagerDescriptor()
