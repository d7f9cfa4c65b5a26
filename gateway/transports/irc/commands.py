"""The IRC transport's own commands: networks for admins; for every user, their nick and credentials per network.

A user's settings are used when their connection to that network is next opened. Passwords are shown masked and
are stored encrypted (store/secrets.py); typed as chat text they may be kept in the XMPP server's message archive,
so the ad-hoc commands (a masked form field) are the better way to give them.
"""

from __future__ import annotations

from typing import Any

from gateway.admin.users import AdminError
from gateway.commands.command import Access, Command, CommandError, Context, Field, FieldType, Result, Values
from gateway.store.irc import AccountRecord
from gateway.store.secrets import SecretsUnavailable
from gateway.store.users import UserNotFound
from gateway.transports.base import AddressError
from gateway.transports.irc import admin as irc_admin
from gateway.transports.irc.addressing import check_nick, parse_local_part
from gateway.transports.irc.settings import IrcSettings, check_network_name

MASK = "********"
NETWORK = Field("network", "Network (e.g. libera)")


def _settings(context: Context) -> IrcSettings | None:
    settings: Any = context.transport.settings
    return settings if isinstance(settings, IrcSettings) else None


def _text(values: Values, var: str) -> str | None:
    value = values.get(var)
    return str(value) if value not in (None, "") else None


# -- networks (admins) ------------------------------------------------------------------------------------
async def network_add(context: Context, values: Values) -> Result:
    try:
        port = _text(values, "port")
        lines = _text(values, "max_line_bytes")
        checked = irc_admin.network(
            str(values["name"]), str(values["host"]), port=int(port) if port else None,
            tls=bool(values.get("tls", True)), verify_certificate=bool(values.get("verify", True)),
            password=_text(values, "password"), encoding_fallback=_text(values, "encoding") or "latin-1",
            max_line_bytes=int(lines) if lines else 512)
        record = await irc_admin.add_network(context.store, checked, replace=bool(values.get("replace", False)))
    except ValueError:
        raise CommandError("The port and the longest line must be numbers.") from None
    except AdminError as error:
        raise CommandError(str(error)) from None
    shown = irc_admin.row(record)
    tls = "TLS" + ("" if record.verify_certificate else " without certificate check") if record.tls else "no TLS"
    return Result(f"Network {record.name}: {record.host}:{shown['port']}, {tls}"
                  f"{', with a server password' if record.has_password else ''}.")


async def network_list(context: Context, values: Values) -> Result:
    records = await irc_admin.list_networks(context.store)
    if not records:
        return Result("There are no IRC networks.")
    columns = ("name", "host", "port", "tls", "verify_certificate", "password", "origin")
    rows = tuple(tuple(_cell(irc_admin.row(r)[c]) for c in columns) for r in records)
    return Result(f"{len(rows)} network(s):", columns, rows)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def network_remove(context: Context, values: Values) -> Result:
    try:
        record = await irc_admin.remove_network(context.store, str(values["name"]))
    except AdminError as error:
        raise CommandError(str(error)) from None
    note = irc_admin.removal_note(record)
    return Result(f"Removed the network {record.name}." + (f" ({note})" if note else ""))


# -- a user's own settings ----------------------------------------------------------------------------------
async def _network(context: Context, values: Values) -> str:
    """The network named in the values: one of the gateway's, or any server when the admin allows them."""
    try:
        name = check_network_name(str(values["network"]))
    except ValueError as error:
        raise CommandError(str(error)) from None
    settings = _settings(context)
    if await context.store.irc.get_network(name) is None and not (settings and settings.allow_arbitrary_servers):
        known = ", ".join(n.name for n in await context.store.irc.networks()) or "none"
        raise CommandError(f"There is no IRC network named {name} here (networks: {known}).")
    return name


def _secret(text: str, what: str, spaces: bool = True) -> str:
    if any(ch in text for ch in "\r\n\0") or (not spaces and " " in text):
        blank = "" if spaces else "a space, "
        raise CommandError(f"The {what} contains {blank}CR, LF or NUL, which IRC cannot send.")
    return text


async def _store(context: Context, network: str, **changes: Any) -> AccountRecord:
    try:
        return await context.store.irc.set_account(context.jid, network, transport=context.transport.name,
                                                   **changes)
    except SecretsUnavailable:
        raise CommandError("This gateway cannot store passwords: its admin has not configured a secret key "
                           "for them. Nothing was stored.") from None
    except UserNotFound:
        raise CommandError(f"{context.jid} is not a user of this gateway.") from None


def _describe(record: AccountRecord) -> tuple[str, str, str, str, str, str]:
    return (record.network, record.nick or "", record.sasl_account or "",
            MASK if record.has_sasl_password else "", MASK if record.has_nickserv_password else "",
            "default" if record.always_on is None else "on" if record.always_on else "off")


async def my_settings(context: Context, values: Values) -> Result:
    records = await context.store.irc.accounts(context.jid, transport=context.transport.name)
    if not records:
        return Result("You have no IRC settings. Set a nick with irc-nick <network> <nick>, SASL with "
                      "irc-sasl <network> <account> <password>.")
    return Result("Your IRC settings (used when you next connect to the network):",
                  ("network", "nick", "sasl account", "sasl password", "nickserv password", "always on"),
                  tuple(_describe(r) for r in records))


async def set_nick(context: Context, values: Values) -> Result:
    network = await _network(context, values)
    try:
        nick = check_nick(str(values["nick"]))
    except AddressError as error:
        raise CommandError(error.text) from None
    await _store(context, network, nick=nick)
    return Result(f"Your nick on {network} is {nick} from your next connection there.")


async def set_sasl(context: Context, values: Values) -> Result:
    network = await _network(context, values)
    account = _secret(str(values["account"]), "account", spaces=False)
    password = _secret(str(values["password"]), "password")
    await _store(context, network, sasl_account=account, sasl_password=password)
    return Result(f"SASL on {network}: account {account}, password {MASK} (stored encrypted), used from your next "
                  "connection there.")


async def set_nickserv(context: Context, values: Values) -> Result:
    network = await _network(context, values)
    password = _secret(str(values["password"]), "password", spaces=False)
    await _store(context, network, nickserv_password=password)
    return Result(f"NickServ password on {network}: {MASK} (stored encrypted); you identify before joining "
                  "channels from your next connection there.")


async def forget(context: Context, values: Values) -> Result:
    try:
        network = check_network_name(str(values["network"]))
    except ValueError as error:
        raise CommandError(str(error)) from None
    if not await context.store.irc.forget_account(context.jid, network, transport=context.transport.name):
        raise CommandError(f"You have no IRC settings for {network}.")
    return Result(f"Your nick and credentials for {network} are deleted.")


async def always_on(context: Context, values: Values) -> Result:
    network = await _network(context, values)
    choice = str(values["choice"]).lower()
    settings = _settings(context)
    default = settings.always_on_default(network) if settings is not None else False
    stored = {"on": True, "off": False, "default": None}[choice]
    await _store(context, network, always_on=stored)
    now = default if stored is None else stored
    transport: Any = context.transport
    left = await transport.set_always_on(context.jid, network) if hasattr(transport, "set_always_on") else []
    if now:
        return Result(f"Always on, on {network}: your IRC connection and channels stay when none of your resources is "
                      "in their rooms; what is said meanwhile is in each room's archive (MAM, history on join). "
                      f"Leaving a room keeps you in its channel until you turn this off ({context.jid}).")
    parted = f" Left the channels you stayed in: {', '.join(left)}." if left else ""
    return Result(f"Not always on, on {network}: leaving a room leaves its channel, and your connection closes with "
                  f"your last channel.{parted}")


async def forget_history(context: Context, values: Values) -> Result:
    room = str(values["room"])
    if room.lower() != "all":
        try:
            address = parse_local_part(room)
        except AddressError as error:
            raise CommandError(error.text) from None
        if address.kind != "channel":
            raise CommandError(f"{room} is no channel: write #channel%network, or all.")
        room = address.local_part
    which = None if room.lower() == "all" else room
    what = "every room" if which is None else which
    archive = context.store.archive
    if not values.get("confirm"):
        count = await archive.forget(context.transport.name, context.jid, which, dry_run=True)
        return Result(f"This deletes the {count} line(s) of your archive of {what} (MAM, history on join); nobody "
                      "can bring them back. Run it again with confirm set to yes to delete them.")
    count = await archive.forget(context.transport.name, context.jid, which)
    return Result(f"Deleted {count} line(s) of your archive of {what}. Lines not yet shown or sent stay until "
                  "they are.")


_CHAT_NOTE = " As chat text, a password may be kept in your server's archive: prefer the ad-hoc command."

COMMANDS: tuple[Command, ...] = (
    Command("irc/settings", "My IRC settings", "Your nick and credentials per network (passwords masked).",
            Access.USER, my_settings, words=("irc-settings", "irc"), needs_user=True),
    Command("irc/nick", "Set my IRC nick", "The nick you get on a network.",
            Access.USER, set_nick, (NETWORK, Field("nick", "Nick")), words=("irc-nick",), needs_user=True),
    Command("irc/sasl", "Set my SASL login", "Log in to a network's services with SASL PLAIN." + _CHAT_NOTE,
            Access.USER, set_sasl,
            (NETWORK, Field("account", "Account"), Field("password", "Password", FieldType.PRIVATE, rest=True)),
            words=("irc-sasl",), needs_user=True),
    Command("irc/nickserv", "Set my NickServ password",
            "Identify to NickServ before joining channels." + _CHAT_NOTE,
            Access.USER, set_nickserv, (NETWORK, Field("password", "Password", FieldType.PRIVATE)),
            words=("irc-nickserv",), needs_user=True),
    Command("irc/always-on", "Stay on IRC while offline",
            "Keep your connection and channels on a network when none of your resources is in their rooms (on, off, "
            "or the admin's default); what is said meanwhile is in the rooms' archives.",
            Access.USER, always_on,
            (NETWORK, Field("choice", "on, off or default", FieldType.LIST, options=("on", "off", "default"))),
            words=("irc-always-on",), needs_user=True),
    Command("irc/forget-history", "Forget my room history",
            "Delete your archive of a room (#channel%network) or of all rooms: what MAM and history on join show you.",
            Access.USER, forget_history,
            (Field("room", "Room (#channel%network) or all"),
             Field("confirm", "Yes, delete it", FieldType.BOOLEAN, required=False, default=False)),
            words=("irc-forget-history",), needs_user=True),
    Command("irc/forget", "Forget my IRC settings", "Delete your nick and credentials for a network.",
            Access.USER, forget, (NETWORK,), words=("irc-forget",), needs_user=True),
    Command("admin/irc/networks/add", "Add an IRC network", "Let users join a network's channels.",
            Access.ADMIN, network_add,
            (Field("name", "Name (the JID part: #chan%NAME)"), Field("host", "Server host"),
             Field("port", "Port (empty: 6697 with TLS, 6667 without)", required=False),
             Field("tls", "TLS", FieldType.BOOLEAN, required=False, default=True),
             Field("verify", "Verify the certificate", FieldType.BOOLEAN, required=False, default=True),
             Field("password", "Server password", FieldType.PRIVATE, required=False),
             Field("encoding", "Encoding of non-UTF-8 text", required=False, default="latin-1"),
             Field("max_line_bytes", "Longest line (bytes)", required=False),
             Field("replace", "Replace a network of that name", FieldType.BOOLEAN, required=False, default=False)),
            words=("irc-network-add",)),
    Command("admin/irc/networks/list", "List IRC networks", "The networks users may join.",
            Access.ADMIN, network_list, words=("irc-networks",)),
    Command("admin/irc/networks/remove", "Remove an IRC network", "Users can no longer connect to it.",
            Access.ADMIN, network_remove, (Field("name", "Name"),), words=("irc-network-remove",)),
)
