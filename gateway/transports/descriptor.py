"""What a transport declares about itself. The shared layers (config, app, xmpp, admin, cli, store) iterate over
the descriptors that discovery finds and never name a transport.

A descriptor is cheap to import: loading the config or running an admin command reads every installed
transport's descriptor, so each one imports its settings class and nothing else up front. Its adapter, commands,
contact rules, CLI and demo are imported when asked for, so `run` loads only the configured transports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from gateway.transports.settings import TransportSettings

if TYPE_CHECKING:
    from gateway.commands.command import Command
    from gateway.store.store import Store
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


@dataclass(frozen=True)
class DemoPlace:
    """Where a transport runs in `xmpp-gateway demo`: everything on loopback, one demo user, one secret."""

    name: str  # its `[transports.<name>]` table in the demo's config
    domain: str  # its component JID
    user: str  # the demo user's bare JID
    directory: Path  # the demo's own directory: a transport's servers keep their files in a folder of it
    config: Path  # the demo's config file, for the admin commands the banner suggests
    secret: str  # the component secret, and any password or token the transport's local servers want
    http_url: str  # the gateway's HTTP server (webhooks), e.g. http://127.0.0.1:8080
    pick_port: Callable[[int], int]  # the given well-known port when it is free, another free one otherwise


class TransportDemo(ABC):
    """What `xmpp-gateway demo` needs of a transport: the servers it talks to, started on loopback, its settings,
    and what to tell the person trying it. One object per demo run: it holds the servers it started."""

    def missing(self) -> str | None:
        """Why this machine cannot offer the transport in the demo (e.g. "ngircd is not installed"); None if it
        can. The banner says so, and the demo runs without it."""
        return None

    async def start(self, place: DemoPlace) -> str:
        """Start the transport's local servers; return the TOML lines of its table after jid, secret and access
        (sub-tables included). Raises RuntimeError or TimeoutError when a server does not start."""
        return ""

    async def ready(self, store: Store, place: DemoPlace) -> None:
        """The gateway runs and its components are connected: add what the demo user needs (e.g. a number)."""
        return None

    @abstractmethod
    def banner(self, place: DemoPlace) -> str:
        """How to try the transport: banner lines, each starting with a space and ending with a newline."""

    async def stop(self) -> None:
        """Stop what start() started; also called when start() failed or was never called."""
        return None


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
    # has down_revision None, branch_labels (kind,) and depends_on "0001" (the shared users table); the package
    # names its newest revision in `HEAD`. `xmpp-gateway db upgrade` applies them with the shared ones and
    # `xmpp-gateway db drop-transport KIND` undoes them before the transport is uninstalled.
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

    def demo(self) -> TransportDemo | None:
        """How `xmpp-gateway demo` runs the transport, made anew for each run; None: the demo leaves it out.
        By default the `demo()` function of a module `demo` beside the descriptor, when there is one, so that a
        transport's demo lives in its folder with the development tools it imports."""
        package = sys.modules[type(self).__module__].__package__  # a package's __init__ is its own package
        if not package:
            return None
        try:
            module = importlib.import_module(f"{package}.demo")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package}.demo":
                return None
            raise  # the module exists but imports something missing: say so, not "no demo"
        made: TransportDemo = module.demo()
        return made
