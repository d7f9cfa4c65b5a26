"""`xmpp-gateway admin irc network add | list | remove`: the IRC networks users may join."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.admin.command_line import CliError, add_command, with_store
from gateway.admin.output import print_records
from gateway.transports.descriptor import SubParsers
from gateway.transports.irc import admin as irc_admin

KIND = "irc"


def add_cli(admin: SubParsers, commands: SubParsers) -> None:
    irc = admin.add_parser(KIND, help="IRC networks users may join").add_subparsers(title="irc areas",
                                                                                    metavar="AREA")
    networks = irc.add_parser("network", help="the IRC networks users may join").add_subparsers(
        title="network commands", metavar="COMMAND")
    network_add = add_command(networks, "add", _network_add, "let users join a network's channels (a running "
                              "gateway sees it within 2 s)")
    network_add.add_argument("name", help="short name, the JID part: #channel%%NAME@<irc domain>")
    network_add.add_argument("host", help="server host name or IP address")
    network_add.add_argument("--port", type=int, help="default 6697 with TLS, 6667 without")
    network_add.add_argument("--no-tls", action="store_true", help="plain text connection (not recommended)")
    network_add.add_argument("--no-verify", action="store_true", help="do not check the server's TLS certificate")
    network_add.add_argument("--ca-file", help="PEM file of the CAs to trust for this network")
    network_add.add_argument("--password-file", metavar="PATH",
                             help="file holding the server password ('-': read it from stdin); stored encrypted, "
                                  "needs [database] secret_key")
    network_add.add_argument("--encoding", default="latin-1", help="how to read text that is not UTF-8")
    network_add.add_argument("--max-line-bytes", type=int, default=512, help="longest line the server accepts")
    network_add.add_argument("--replace", action="store_true", help="replace a network of that name")
    network_list = add_command(networks, "list", _network_list, "list the networks")
    network_list.add_argument("--json", action="store_true", help="print JSON")
    network_remove = add_command(networks, "remove", _network_remove, "remove a network")
    network_remove.add_argument("name")


def _network_add(args: argparse.Namespace) -> int:
    password = None
    if args.password_file:
        try:
            source = sys.stdin.read() if args.password_file == "-" else Path(args.password_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read the password file {args.password_file}: {exc}") from None
        password = source.strip()
    checked = irc_admin.network(args.name, args.host, port=args.port, tls=not args.no_tls,
                                verify_certificate=not args.no_verify, ca_file=args.ca_file, password=password,
                                encoding_fallback=args.encoding, max_line_bytes=args.max_line_bytes)
    record = with_store(args, lambda store: irc_admin.add_network(store, checked, replace=args.replace))
    shown = irc_admin.row(record)
    tls = ("TLS" if record.verify_certificate else "TLS without certificate check") if record.tls else "no TLS"
    secret = ", server password stored encrypted" if record.has_password else ""
    print(f"network {record.name}: {record.host}:{shown['port']}, {tls}{secret}")
    return 0


def _network_list(args: argparse.Namespace) -> int:
    records = with_store(args, irc_admin.list_networks)
    print_records([irc_admin.row(r) for r in records], irc_admin.COLUMNS, sys.stdout, as_json=args.json)
    return 0


def _network_remove(args: argparse.Namespace) -> int:
    record = with_store(args, lambda store: irc_admin.remove_network(store, args.name))
    print(f"removed the network {record.name}")
    note = irc_admin.removal_note(record)
    if note:
        print(note)
    return 0
