"""The command line: parse, call app and admin functions, print. A user's mistake never shows a traceback."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.admin import contacts as contact_admin
from gateway.admin.command_line import (
    CliError,
    Handler,
    add_command,
    instance,
    load,
    run_async,
    safe_url,
    with_store,
)
from gateway.admin.output import print_records
from gateway.admin.progress import ProgressBar
from gateway.admin.users import (
    AdminError,
    add_user,
    bare_jid,
    check_transports,
    list_users,
    remove_user,
    set_admin,
    set_enabled,
)
from gateway.config import Config, ConfigError
from gateway.logs import setup_logging
from gateway.startup import collections_paused
from gateway.store.database import drop_branch, schema_revision
from gateway.store.store import Store
from gateway.transports.discovery import DiscoveryError, descriptors

# Built-in commands that need neither the admin area nor the transports' own command lines: building those imports
# every transport's admin and CLI modules, which `run` would load for nothing.
LEAN_COMMANDS = frozenset({"run", "check-config", "version", "demo", "db"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        # No command, or an option first (`-h`): the whole parser, whose help lists every command.
        parser = build_parser(full=not argv or argv[0] not in LEAN_COMMANDS)
    except DiscoveryError as exc:  # an installed transport that cannot be loaded
        print(f"xmpp-gateway: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except (CliError, AdminError) as exc:
        print(f"xmpp-gateway: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, CliError) else 1
    except KeyboardInterrupt:
        return 130


def build_parser(full: bool = True) -> argparse.ArgumentParser:
    """The command line; without `full`, only the built-in commands outside `admin` (LEAN_COMMANDS)."""
    installed = descriptors()  # also when not full: a transport that cannot be loaded is reported by main()
    parser = argparse.ArgumentParser(prog="xmpp-gateway",
                                     description="XMPP components bridging users to SMS and IRC.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: Handler, help: str, parent: Any = commands, config: bool = True
                ) -> argparse.ArgumentParser:
        return add_command(parent, name, handler, help, config)

    run = command("run", _run, "run the gateway")
    run.add_argument("--log-json", action="store_true", help="log JSON lines instead of text")
    command("check-config", _check_config, "validate the config file and summarise it")
    command("version", _version, "print the version", config=False)
    demo = command("demo", _demo, "start a complete local stack to try the gateway", config=False)
    demo.add_argument("--dir", type=Path, default=Path(".demo"), help="where the demo keeps its files")

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands", metavar="COMMAND")
    command("upgrade", _db_upgrade, "migrate the database to the newest schema", parent=db)
    drop = command("drop-transport", _db_drop_transport,
                   "drop the tables a transport kind keeps on its own branch, with all their rows, before the "
                   "transport is uninstalled (while it stays installed, `db upgrade` makes them again, empty)",
                   parent=db)
    drop.add_argument("kind", help="the transport kind, e.g. sms")
    drop.add_argument("--yes", action="store_true", help="yes, delete the rows of every instance of this kind")

    if not full:
        return parser
    admin = commands.add_parser("admin", help="manage users and their data").add_subparsers(
        title="admin areas", metavar="AREA")
    users = admin.add_parser("user", help="users of the gateway").add_subparsers(title="user commands",
                                                                                  metavar="COMMAND")
    add = command("add", _user_add, "add a user for some transports (they may then use them, also when closed); "
                  "an existing user is added to the transports they are not a member of", parent=users)
    add.add_argument("jid", help="bare JID, e.g. alice@example.org")
    add.add_argument("--admin", action="store_true", help="make the user an admin")
    add.add_argument("--transport", "-t", action="append", default=[], metavar="NAME",
                     help="a transport the user may use, e.g. sms (repeatable; default: every transport configured "
                          "in the config file)")
    listing = command("list", _user_list, "list users with the transports they belong to", parent=users)
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = command("remove", _user_remove, "remove a user and all their data", parent=users)
    remove.add_argument("jid")
    remove.add_argument("--transport", "-t", metavar="NAME",
                        help="only take the user off this transport: their contacts, bindings (numbers an admin "
                             "bound), settings and message journal there are deleted; the user goes with their "
                             "last transport")
    for name, handler, text in (
            ("enable", _user_enable, "let a disabled user use the gateway again"),
            ("disable", _user_disable, "refuse a user's messages; their data is kept"),
            ("set-admin", _user_set_admin, "make a user an admin"),
            ("unset-admin", _user_unset_admin, "take a user's admin flag away")):
        flag = command(name, handler, text, parent=users)  # a running gateway sees it within 2 s
        flag.add_argument("jid")

    contacts = admin.add_parser("contact", help="names for contacts (their address on a transport) in a user's "
                                "roster").add_subparsers(title="contact commands", metavar="COMMAND")
    addressed = contact_admin.contact_transports()

    def address_options(sub: argparse.ArgumentParser) -> None:
        which = sub.add_mutually_exclusive_group(required=True)
        for kind, addresses in addressed.items():
            which.add_argument(f"--{kind}", dest=f"address_{kind}", metavar=addresses.metavar,
                               help=addresses.description.replace("%", "%%"))
        sub.add_argument("--transport", metavar="NAME", default=None,
                         help="the transport of the address's kind, [transports.NAME]; needed when several of "
                              "that kind are configured")

    contact_add = command("add", _contact_add, "map a contact into a user's roster under a name", parent=contacts)
    contact_add.add_argument("jid", help="the user, e.g. alice@example.org")
    address_options(contact_add)
    contact_add.add_argument("--name", required=True, help="the name shown in the roster, e.g. Mom")
    contact_add.add_argument("--group", help="a roster group, e.g. Family")
    contact_add.add_argument("--via", metavar="ADDRESS",
                             help="send to this contact from this one of the user's bound addresses, not their "
                                  "default one")
    contact_list = command("list", _contact_list, "list a user's contacts", parent=contacts)
    contact_list.add_argument("jid", help="the user, e.g. alice@example.org")
    contact_list.add_argument("--transport", metavar="NAME",
                              help="only this transport's, [transports.NAME], or every one of this kind's")
    contact_list.add_argument("--json", action="store_true", help="print JSON")
    contact_remove = command("remove", _contact_remove, "remove a contact from a user's roster", parent=contacts)
    contact_remove.add_argument("jid", help="the user, e.g. alice@example.org")
    address_options(contact_remove)
    contact_import = command("import", _contact_import,
                             "map many contacts for a user from a CSV file, all or nothing", parent=contacts)
    contact_import.formatter_class = argparse.RawDescriptionHelpFormatter
    contact_import.epilog = contact_admin.csv_help()
    contact_import.add_argument("jid", help="the user, e.g. alice@example.org")
    contact_import.add_argument("file", type=Path, help="the CSV file (UTF-8)")
    contact_import.add_argument("--skip-bad", action="store_true",
                                help="store the good rows even if some are rejected (exit status 0)")
    contact_import.add_argument("--json", action="store_true",
                                help="print the outcome as JSON: imported, rows and rejected (line, reason)")

    for transport in installed.values():  # each transport's `admin <kind> ...` and tools
        transport.add_cli(admin, commands)
    return parser


# -- commands ---------------------------------------------------------------------------------------------
def _version(_args: argparse.Namespace) -> int:
    print(f"xmpp-gateway {__version__}")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load(args)
    print(f"{config.path}: valid")
    print(f"  XMPP server:  {config.xmpp.host}:{config.xmpp.component_port}"
          f"  admins: {', '.join(config.xmpp.admins) or '(none)'}")
    print(f"  database:     {safe_url(config.database.sqlalchemy_url)}")
    print(f"  HTTP:         {config.http.listen}  public URL: {config.http.base_url}")
    for name, settings in config.transports.items():
        kind = f" (type {config.kind(name)})" if config.kind(name) != name else ""
        print(f"  transport {name}{kind}: {settings.jid}  access: {settings.access}")
    if not config.transports:
        print("  no transports configured: add a [transports.<name>] table")
    return 0


def _run(args: argparse.Namespace) -> int:
    with collections_paused():
        from gateway.app import Gateway  # keeps `check-config` and `admin` from importing slixmpp

        config = load(args)
    setup_logging(config.log.level, args.log_json or config.log.format == "json", config.secrets())
    run_async(Gateway(config).run(), config)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    setup_logging("info")
    asyncio.run(run_demo(args.dir))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    config = load(args)

    async def upgrade() -> str | None:
        store = await Store.open(config.database.sqlalchemy_url, migrate=True)
        try:
            return (await schema_revision(store.engine))[0]
        finally:
            await store.close()

    revision = run_async(upgrade(), config)
    print(f"database at {safe_url(config.database.sqlalchemy_url)} is at revision {revision}")
    return 0


def _db_drop_transport(args: argparse.Namespace) -> int:
    config = load(args)
    installed = descriptors()
    if args.kind not in installed:
        raise CliError(f"no transport kind {args.kind} is installed (installed: {', '.join(sorted(installed))}); "
                       "install it again to drop its tables", status=2)
    if installed[args.kind].migrations is None:
        raise CliError(f"the {args.kind} transport keeps no tables of its own", status=2)
    using = [name for name, kind in config.kinds.items() if kind == args.kind]
    if using:
        raise CliError(f"{config.path} still configures {', '.join(f'[transports.{n}]' for n in using)}: take "
                       "it out first", status=2)
    if not args.yes:
        raise CliError(f"this deletes the {args.kind} transport's tables and all their rows: run again with --yes",
                       status=2)

    async def drop() -> tuple[str, ...]:
        store = await Store.open(config.database.sqlalchemy_url)
        try:
            return await drop_branch(store.engine, args.kind)
        finally:
            await store.close()

    undone = run_async(drop(), config)
    if undone:
        print(f"dropped the {args.kind} transport's tables (revisions {', '.join(undone)} undone)")
    else:
        print(f"the database holds no tables of the {args.kind} transport")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    config = load(args)
    transports = check_transports(args.transport, list(config.transports))
    user = with_store(args, lambda store: add_user(store, args.jid, admin=args.admin, transports=transports),
                       config)
    where = f" for {', '.join(sorted(user.transports))}" if user.transports else ""
    print(f"added {user.jid}{' (admin)' if user.is_admin else ''}{where}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    config = load(args)
    users = with_store(args, lambda store: list_users(store, config.xmpp.admins), config)
    rows = [{**dataclasses.asdict(u), "transports": sorted(u.transports)} for u in users]
    if not args.json:
        rows = [{**row, "transports": ",".join(row["transports"])} for row in rows]
    print_records(rows, ["jid", "is_admin", "enabled", "transports"], sys.stdout, as_json=args.json)
    return 0


def _user_remove(args: argparse.Namespace) -> int:
    config = load(args)
    if args.transport is not None:
        check_transports([args.transport], list(config.transports))
    gone = with_store(args, lambda store: remove_user(store, args.jid, args.transport), config)
    if args.transport is None:
        print(f"removed {args.jid} and all their data")
    else:
        print(f"removed {args.jid} from {args.transport} with their data there"
              f"{'; no transport left, so the user is removed' if gone else ''}")
    return 0


def _user_flag(args: argparse.Namespace, enabled: bool | None = None, admin: bool | None = None) -> int:
    config = load(args)
    if enabled is not None:
        user, changed = with_store(args, lambda store: set_enabled(store, args.jid, enabled), config)
        state = "enabled" if enabled else "disabled"
    else:
        assert admin is not None
        user, changed = with_store(args, lambda store: set_admin(store, args.jid, admin), config)
        state = "an admin" if admin else "not an admin"
    print(f"{user.jid} is {state}{'' if changed else ' (it already was)'}")
    if user.jid in config.xmpp.admins and (enabled is False or admin is False):
        print(f"note: {user.jid} is listed in [xmpp] admins of {config.path}, and stays an admin with full "
              "access until removed from there", file=sys.stderr)
    return 0


def _user_enable(args: argparse.Namespace) -> int:
    return _user_flag(args, enabled=True)


def _user_disable(args: argparse.Namespace) -> int:
    return _user_flag(args, enabled=False)


def _user_set_admin(args: argparse.Namespace) -> int:
    return _user_flag(args, admin=True)


def _user_unset_admin(args: argparse.Namespace) -> int:
    return _user_flag(args, admin=False)


def _contact_address(config: Config, args: argparse.Namespace) -> tuple[str, str]:
    """(transport instance, address as typed) from whichever --<kind> option was given, and --transport."""
    kind, text = next((kind, text) for kind in contact_admin.contact_transports()
                      if (text := getattr(args, f"address_{kind}")) is not None)
    return instance(config, kind, args.transport), text


def _contact_add(args: argparse.Namespace) -> int:
    config = load(args)
    transport, text = _contact_address(config, args)
    contact = with_store(args, lambda store: contact_admin.add_contact(
        store, args.jid, transport, text, args.name, args.group, config.transports, args.via, config.kinds),
        config)
    group = f" in group {contact.group}" if contact.group else ""
    via = f", texted from {contact.via}" if contact.via else ""
    print(f"{contact.jid} sees {contact.transport} {contact.address} as {contact.name!r}{group}{via}")
    return 0


def _contact_list(args: argparse.Namespace) -> int:
    config = load(args)
    # An instance by its name; a kind stands for all its configured instances (itself when none is configured).
    shown: set[str] | None = None
    if args.transport is not None:
        if args.transport in config.transports:
            shown = {args.transport}
        elif args.transport in descriptors():
            shown = set(config.instances(args.transport)) or {args.transport}
        else:
            raise CliError(f"--transport {args.transport}: {config.path} has no transport of that name "
                           f"(transports: {', '.join(config.transports) or 'none'}; kinds: "
                           f"{', '.join(sorted(descriptors()))})", status=2)
    everything = with_store(args, lambda store: contact_admin.list_contacts(store, args.jid), config)
    found = [c for c in everything if shown is None or c.transport in shown]
    print_records([dataclasses.asdict(c) for c in found], ["name", "transport", "address", "group"], sys.stdout,
                  as_json=args.json)
    return 0


def _contact_remove(args: argparse.Namespace) -> int:
    config = load(args)
    transport, text = _contact_address(config, args)
    stored = with_store(args, lambda store: contact_admin.remove_contact(
        store, args.jid, transport, text, config.transports, config.kinds), config)
    print(f"removed the {transport} contact {stored} of {args.jid}")
    return 0


# At most this many rejected rows are listed on stderr; --json lists them all.
_REJECTS_SHOWN = 100


def _contact_import(args: argparse.Namespace) -> int:
    config = load(args)
    text = contact_admin.read_csv_file(args.file)
    report = with_store(args, lambda store: contact_admin.import_contacts(
        store, args.jid, text, config.transports, skip_bad=args.skip_bad, progress=ProgressBar(sys.stderr),
        kinds=config.kinds), config)
    failed = bool(report.rejected) and not args.skip_bad
    if args.json:
        print(json.dumps({"imported": report.stored, "rows": report.rows,
                          "rejected": [dataclasses.asdict(r) for r in report.rejected]}, indent=2))
    for rejected in report.rejected[:_REJECTS_SHOWN]:
        print(f"{args.file}:{rejected.line}: {rejected.reason}", file=sys.stderr)
    if len(report.rejected) > _REJECTS_SHOWN:
        print(f"... and {len(report.rejected) - _REJECTS_SHOWN} more rejected rows (--json lists them all)",
              file=sys.stderr)
    if failed:
        raise CliError(f"nothing imported: {len(report.rejected)} of {report.rows} rows rejected (fix them, or "
                       "pass --skip-bad to import the others)")
    if not args.json:
        skipped = f"; {len(report.rejected)} rows rejected" if report.rejected else ""
        print(f"imported {report.stored} contacts for {bare_jid(args.jid)} from {args.file}{skipped}")
    return 0
