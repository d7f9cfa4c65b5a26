"""What a transport declares about itself. The shared layers (config, app, xmpp, admin, cli, store) iterate over
the descriptors that discovery finds and never name a transport.

A descriptor is cheap to import: loading the config or running an admin command reads every installed
transport's descriptor, so each one imports its settings class and nothing else up front. Its adapter, commands,
contact rules and CLI are imported when asked for, so `run` loads only the configured transports.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from gateway.transports.settings import TransportSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.transports.base import Transport

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # from `add_subparsers`


@dataclass(frozen=True)
class RegistrationField:
    """An optional field in-band registration asks for. `check` normalises what the user typed or raises
    AddressError with the reason. A field named `nick` is stored with the membership (the one value the
    schema keeps per user and transport); the transport reads it back with `store.users.nick`."""

    var: str  # a XEP-0077 field name, also the data form field's var
    label: str
    check: Callable[[str], str]


@dataclass(frozen=True)
class ContactAddresses:
    """How an admin writes a contact's address on this transport: the CLI's `--<kind>` option, CSV import rows
    and the address field of the contact commands."""

    metavar: str  # the CLI option's value, e.g. NUMBER
    example: str  # one address as an admin would type it, e.g. +14155552671
    description: str  # one line: "a phone number, e.g. +14155552671"
    csv_description: str  # for the CSV help, where the rules may take a few more words
    # The stored form of an address as typed, judged with the transport's settings when it is configured (None
    # when not); raises AdminError with the reason.
    parse: Callable[[str, TransportSettings | None], str]
    # How an admin binds an address to a user, when contacts may name one of theirs to send from (`--via`), e.g.
    # "xmpp-gateway admin sms bind"; None when they may not.
    bind_command: str | None = None


class TransportDescriptor(ABC):
    """Registered under the entry point group `xmpp_gateway.transports`, its name being `kind`."""

    kind: ClassVar[str]  # the entry point's name and the default `[transports.<kind>]` table name
    title: ClassVar[str]  # how people call it in a sentence: "SMS", "IRC"
    settings: ClassVar[type[TransportSettings]]
    # Said after the access policy in the registration instructions, e.g. what registering does not do.
    registration_note: ClassVar[str] = ""
    # Tables holding a user's data on this transport (each with a `user_id` column): emptied of their rows when
    # the user leaves the transport.
    user_tables: ClassVar[tuple[str, ...]] = ()
    # Tables holding a user's data on one instance of this transport (each with a `user_id` column and a
    # `transport` column holding the instance's name): the user's rows of the instance they leave are deleted,
    # those of another instance of the same kind stay.
    instance_tables: ClassVar[tuple[str, ...]] = ()
    # A package holding the Alembic revisions of the transport's own tables, on a branch of their own: the first
    # has down_revision None, branch_labels (kind,) and depends_on "0001" (the shared users table).
    # `xmpp-gateway db upgrade` applies them with the shared ones.
    migrations: ClassVar[str | None] = None

    @abstractmethod
    def adapter_class(self) -> type[Transport[Any]]:
        """The transport adapter, imported now (only configured transports are ever asked)."""

    def commands(self) -> tuple[Command, ...]:
        """The transport's own ad-hoc and chat commands, served after the shared ones."""
        return ()

    def registration_fields(self) -> tuple[RegistrationField, ...]:
        return ()

    def contact_addresses(self) -> ContactAddresses | None:
        """None: contacts on this transport are only added from XMPP (ad-hoc or chat commands)."""
        return None

    def add_cli(self, admin: SubParsers, commands: SubParsers) -> None:
        """Add the transport's `admin <kind> ...` commands (under `admin`) and any tool of its own (under
        `commands`). A sub-command sets `handler` (args -> exit status), as gateway.admin.command_line does."""
        return None
