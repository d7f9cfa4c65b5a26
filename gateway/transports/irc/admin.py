"""`xmpp-gateway admin irc network add | list | remove`, and the same for ad-hoc commands: the networks users may
join. What an admin types is checked by the transport's own `IrcNetwork` model, so a stored network is always one
the transport can use; a change reaches a running gateway within its cache time (accounts.py). Also how an admin
writes an IRC contact (`nick%network`), for the CLI and CSV import."""

from __future__ import annotations

from pydantic import SecretStr, ValidationError

from gateway.admin.users import AdminError
from gateway.store.irc import ADMIN, CONFIG, NetworkExists, NetworkNotFound, NetworkRecord
from gateway.store.secrets import SecretsUnavailable
from gateway.store.store import Store
from gateway.transports.base import AddressError
from gateway.transports.irc.addressing import EXAMPLE_NICK, Casemapping, parse_local_part
from gateway.transports.irc.records import to_record
from gateway.transports.irc.settings import IRC_LINE_BYTES, IrcNetwork, check_network_name
from gateway.transports.settings import TransportSettings

COLUMNS = ("name", "host", "port", "tls", "verify_certificate", "ca_file", "password", "encoding_fallback",
           "max_line_bytes", "origin")


def contact_address(text: str, settings: TransportSettings | None = None) -> str:
    """`nick%network` checked by the IRC transport's addressing rules; stored as the address's key (the nick folded
    with the rfc1459 casemapping, the network lower-cased), so one IRC user is one contact however it is typed."""
    text = text.strip()
    try:
        parsed = parse_local_part(text)
    except AddressError as exc:
        raise AdminError(exc.text.rstrip(".")) from None
    if parsed.kind == "channel":
        raise AdminError(f"{text!r} is a channel: channels are group chats, a contact is nick%network "
                         f"(e.g. {EXAMPLE_NICK})")
    if parsed.kind == "network":
        raise AdminError(f"{text!r} is a network: a contact is nick%network (e.g. {EXAMPLE_NICK})")
    return parsed.key(Casemapping.RFC1459)


def network(name: str, host: str, *, port: int | None = None, tls: bool = True, verify_certificate: bool = True,
            ca_file: str | None = None, password: str | None = None, encoding_fallback: str = "latin-1",
            max_line_bytes: int = IRC_LINE_BYTES) -> IrcNetwork:
    """A network as an admin described it, checked; AdminError naming every problem."""
    try:
        return IrcNetwork(name=name, host=host, port=port, tls=tls, verify_certificate=verify_certificate,
                          ca_file=ca_file,
                          password=SecretStr(password) if password is not None else None,
                          encoding_fallback=encoding_fallback, max_line_bytes=max_line_bytes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
                             for e in exc.errors())
        raise AdminError(problems) from None


async def add_network(store: Store, checked: IrcNetwork, replace: bool = False) -> NetworkRecord:
    try:
        return await store.irc.add_network(to_record(checked, ADMIN), replace=replace)
    except NetworkExists:
        raise AdminError(f"there is already a network named {checked.name} (remove it first, or replace it)"
                         ) from None
    except SecretsUnavailable as exc:
        raise AdminError(str(exc)) from None


async def list_networks(store: Store) -> list[NetworkRecord]:
    return await store.irc.networks()


async def remove_network(store: Store, name: str) -> NetworkRecord:
    try:
        name = check_network_name(name)
        return await store.irc.remove_network(name)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    except NetworkNotFound:
        raise AdminError(f"there is no network named {name}") from None


def row(record: NetworkRecord) -> dict[str, object]:
    """A network as the CLI and the ad-hoc commands show it: the password only as set or not."""
    return {"name": record.name, "host": record.host,
            "port": record.port if record.port is not None else (6697 if record.tls else 6667),
            "tls": record.tls, "verify_certificate": record.verify_certificate, "ca_file": record.ca_file or "",
            "password": "********" if record.has_password else "", "encoding_fallback": record.encoding_fallback,
            "max_line_bytes": record.max_line_bytes, "origin": record.origin}


def removal_note(record: NetworkRecord) -> str:
    if record.origin == CONFIG:
        return (f"note: {record.name} is defined in the config file and comes back at the next start unless it is "
                "removed there too")
    return ""
