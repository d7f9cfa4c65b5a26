"""`xmpp-gateway admin sms ...` (bind numbers to users, block numbers for a user) and `xmpp-gateway sms-sandbox`.

With several SMS transports configured (`type = "sms"` tables), each command names the one it applies to with
`--transport NAME`; with one, that one is meant."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Awaitable, Callable

from gateway.admin.command_line import CliError, Handler, add_command, instance, load, with_store
from gateway.admin.output import print_records
from gateway.config import Config
from gateway.logs import setup_logging
from gateway.store.store import Store
from gateway.transports.descriptor import SubParsers
from gateway.transports.sms import admin as sms_admin
from gateway.transports.sms.settings import SmsSettings

KIND = "sms"


def add_cli(admin: SubParsers, commands: SubParsers) -> None:
    sms = admin.add_parser(KIND, help="SMS numbers bound to users, and their block lists").add_subparsers(
        title="sms commands", metavar="COMMAND")
    bind = add_command(sms, "bind", _bind, "bind a Twilio number to a user (adds the user if needed)")
    _instance_option(bind)
    bind.add_argument("jid")
    bind.add_argument("number", help="the Twilio number, e.g. +14155552671")
    bind.add_argument("--default", action="store_true", help="make it the user's default sending number")
    listing = add_command(sms, "list", _list, "list bound numbers")
    listing.add_argument("jid", nargs="?", help="only this user's numbers")
    listing.add_argument("--json", action="store_true", help="print JSON")
    _instance_option(listing)
    for name, handler, text in (
            ("unbind", _number_command(sms_admin.unbind, "unbound {number} from {jid}"),
             "unbind a number from a user"),
            ("block", _number_command(sms_admin.block, "{jid} no longer receives texts from {number}"),
             "drop a number's texts to a user (journaled as blocked)"),
            ("unblock", _number_command(sms_admin.unblock, "{jid} receives texts from {number} again"),
             "deliver a blocked number's texts again")):
        sub = add_command(sms, name, handler, text)
        sub.add_argument("jid")
        sub.add_argument("number")
        _instance_option(sub)

    sandbox = add_command(commands, "sms-sandbox", _sandbox,
                          "run the local Twilio-compatible sandbox, with its phone page (development only)")
    sandbox.add_argument("--listen", default="127.0.0.1:8088", help="host:port (default 127.0.0.1:8088)")
    sandbox.add_argument("--number", action="append", default=[],
                         help="a number of the account (repeatable; default: any)")
    _instance_option(sandbox)


def _instance_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", metavar="NAME", default=None,
                        help="the SMS transport, [transports.NAME]; needed when several are configured")


def _instance(config: Config, args: argparse.Namespace) -> tuple[str, SmsSettings | None]:
    """The SMS transport instance a command applies to, and its settings (None when none is configured: the
    default name, sms, as before there could be several)."""
    name = instance(config, KIND, args.transport)
    settings = config.transports.get(name)
    return name, settings if isinstance(settings, SmsSettings) else None


def _bind(args: argparse.Namespace) -> int:
    config = load(args)
    name, settings = _instance(config, args)
    binding, added = with_store(args, lambda store: sms_admin.bind(
        store, name, args.jid, args.number, settings, default=args.default), config)
    if added:
        print(f"added user {binding.jid}")
    print(f"bound {binding.address} to {binding.jid}{' (default)' if binding.is_default else ''}")
    return 0


def _number_command(operation: Callable[[Store, str, str, str, SmsSettings | None], Awaitable[str]], done: str
                    ) -> Handler:
    """A command that applies `operation` to (JID, number) and reports `done` with the number as understood."""

    def handler(args: argparse.Namespace) -> int:
        config = load(args)
        name, settings = _instance(config, args)
        number = with_store(args, lambda store: operation(store, name, args.jid, args.number, settings), config)
        print(done.format(jid=args.jid, number=number))
        return 0

    return handler


def _list(args: argparse.Namespace) -> int:
    config = load(args)
    name, _ = _instance(config, args)
    bindings = with_store(args, lambda store: sms_admin.list_bindings(store, name, args.jid), config)
    print_records([dataclasses.asdict(b) for b in bindings], ["jid", "address", "is_default"], sys.stdout,
                  as_json=args.json)
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from gateway.transports.sms.sandbox import run_sandbox  # development only: not loaded for other commands
    from gateway.transports.sms.webhooks import inbound_path

    config = load(args)
    name, settings = _instance(config, args)
    if settings is None:
        raise CliError(f"{config.path} has no SMS transport (a [transports.sms] table, or one with "
                       "type = \"sms\"): the sandbox takes the account SID and auth token from it", status=2)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"--listen {args.listen!r} is not host:port", status=2)
    setup_logging("info")
    webhook = f"{config.http.base_url}{inbound_path(name)}"
    asyncio.run(run_sandbox(host, int(port), settings.account_sid, settings.auth_token.get_secret_value(), webhook,
                            numbers=args.number,
                            on_ready=lambda sandbox: print(f"SMS sandbox on {sandbox.url}: the phone page is "
                                                           f"{sandbox.url}/ and inbound texts go to {webhook}",
                                                           flush=True)))
    return 0
