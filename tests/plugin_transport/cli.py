"""`xmpp-gateway admin pager tone set JID TONE | list`."""

from __future__ import annotations

import argparse
import sys

from gateway.admin.command_line import CliError, add_command, with_store
from gateway.admin.output import print_records
from gateway.transports.descriptor import SubParsers
from tests.plugin_transport import tones


def add_cli(admin: SubParsers, commands: SubParsers) -> None:
    pager = admin.add_parser("pager", help="pager tones").add_subparsers(title="pager areas", metavar="AREA")
    tone = pager.add_parser("tone", help="users' tones").add_subparsers(title="tone commands", metavar="COMMAND")
    chosen = add_command(tone, "set", _set, "set a user's tone")
    chosen.add_argument("jid")
    chosen.add_argument("tone", choices=("beep", "chirp", "buzz"))
    add_command(tone, "list", _list, "list the tones")


def _set(args: argparse.Namespace) -> int:
    try:
        with_store(args, lambda store: tones.set_tone(store, args.jid, args.tone))
    except tones.NoSuchUser:
        raise CliError(f"{args.jid} is not a user") from None
    print(f"{args.jid} pages with {args.tone}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = with_store(args, tones.all_tones)
    print_records([{"jid": jid, "tone": tone} for jid, tone in rows], ["jid", "tone"], sys.stdout, as_json=False)
    return 0
