"""Which network a name means and who the user is there: the database, read through a short cache.

The database is the source of truth for networks (DESIGN.md): `admin irc network add` in another process must
reach a running gateway within 2 s, so `IrcAccounts.network` keeps a lookup for `CACHE_SECONDS` only (as
`AccessControl` does for users). Networks from the config file are upserted at start (`upsert_configured`).

A name that is no network is a server the user names (`#chan%irc.example.net`), allowed only with
`allow_arbitrary_servers`; the host is resolved and every address it resolves to is judged by
`check_server_address`, so loopback, private and link-local servers are refused unless `allow_private_addresses`.
The connection goes to the first checked address (`IrcNetwork.address`) and keeps the name for TLS, so a DNS
answer that changes in between (rebinding) cannot lead it elsewhere.

A user's own settings per network (nick, SASL account and password, NickServ password) make their
`IrcIdentity`. Passwords are opened from the store only here, at connection time, and are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cachetools import TTLCache
from pydantic import SecretStr, ValidationError

from gateway.core.events import Refusal
from gateway.store.irc import CONFIG, IrcRepository, NetworkRecord
from gateway.store.secrets import SecretsUnavailable
from gateway.transports.base import AddressError
from gateway.transports.irc.addressing import check_server_address
from gateway.transports.irc.connection import IrcIdentity
from gateway.transports.irc.records import to_record
from gateway.transports.irc.settings import IrcNetwork, IrcSettings, check_host, check_network_name

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    """Every IP address `host` resolves to (without blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def to_network(record: NetworkRecord, configured: IrcNetwork | None = None) -> IrcNetwork:
    """The transport's view of a stored network. A config network stored without its password (no secret key
    was configured) takes it from the config file, which holds it anyway."""
    password: SecretStr | None = SecretStr(record.password) if record.password is not None else None
    if password is None and configured is not None and record.origin == CONFIG:
        password = configured.password
    return IrcNetwork(name=record.name, host=record.host, port=record.port, tls=record.tls,
                      verify_certificate=record.verify_certificate, ca_file=record.ca_file, password=password,
                      encoding_fallback=record.encoding_fallback, max_line_bytes=record.max_line_bytes)


async def upsert_configured(settings: IrcSettings, repository: IrcRepository) -> None:
    """Store the config file's networks (the config wins for them at every start)."""
    for network in settings.networks:
        keep_password = repository.secrets.available
        if network.password is not None and not keep_password:
            log.warning("IRC network %s: no [database] secret_key is configured, so its server password is not "
                        "stored; it is read from the config file", network.name)
        await repository.upsert_network(to_record(network, CONFIG, with_password=keep_password))


class IrcAccounts:
    # Lookups expire (a user may name any network: kept for good, they grew without end); at most CACHE_SIZE.
    CACHE_SECONDS = 1.0
    CACHE_SIZE = 10_000

    def __init__(self, settings: IrcSettings, repository: IrcRepository, *, resolver: Resolver | None = None,
                 clock: Callable[[], float] = time.monotonic, transport: str = "irc") -> None:
        self.settings = settings
        self.repository = repository
        self.transport = transport  # the instance whose users' nicks and credentials are read
        self._resolver = resolver or resolve_addresses
        self._cache: TTLCache[str, NetworkRecord | None] = TTLCache(self.CACHE_SIZE, self.CACHE_SECONDS, timer=clock)
        # The last network built per name: every connection to an unchanged network shares it.
        self._built: dict[str, tuple[NetworkRecord, IrcNetwork]] = {}

    @property
    def cached(self) -> int:
        """How many network names' lookups are cached now."""
        self._cache.expire()
        return len(self._cache)

    async def _record(self, name: str) -> NetworkRecord | None:
        try:
            return self._cache[name]  # one reading of the clock (see AccessControl.user)
        except KeyError:
            pass
        try:
            record = await self.repository.get_network(name, reveal=True)
        except SecretsUnavailable as error:
            log.warning("IRC network %s: %s", name, error)
            raise Refusal("service-unavailable", f"The gateway cannot read the stored password of {name}; "
                                                 "tell an admin.") from None
        self._cache[name] = record
        if record is None:
            self._built.pop(name, None)  # removed: its connections are built afresh if it comes back
        return record

    async def network(self, name: str) -> IrcNetwork:
        """The network `name` means: a stored one, else (if allowed) a server the user names; Refusal if none."""
        name = check_network_name(name)
        record = await self._record(name)
        if record is not None:
            built = self._built.get(name)
            if built is not None and built[0] == record:
                return built[1]
            try:
                network = to_network(record, self.settings.network(name))
                self._built[name] = (record, network)
                return network
            except ValidationError as error:  # e.g. its ca_file is gone
                problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
                raise Refusal("service-unavailable", f"The network {name} is misconfigured ({problems}); tell an "
                                                     "admin.") from None
        if not self.settings.allow_arbitrary_servers:
            known = [n.name for n in await self.repository.networks()]
            listed = f" Networks here: {', '.join(known)}." if known else ""
            raise Refusal("item-not-found", f"There is no IRC network named {name!r} here, and this gateway does not "
                                            f"connect to other servers.{listed}")
        return await self.arbitrary(name)

    async def arbitrary(self, name: str) -> IrcNetwork:
        """A server the user named (TLS on 6697), once every address it resolves to is one we may connect to."""
        try:
            network = IrcNetwork(name=name, host=check_host(name))
        except (ValueError, ValidationError):
            raise Refusal("item-not-found", f"{name!r} is neither an IRC network here nor a server name.") from None
        try:
            addresses = await self._resolver(network.host, network.effective_port)
        except OSError as error:
            raise Refusal("remote-server-not-found", f"The server {network.host} cannot be found: "
                                                     f"{getattr(error, 'strerror', None) or error}.") from None
        if not addresses:
            raise Refusal("remote-server-not-found", f"The server {network.host} has no address.")
        for address in addresses:
            try:
                check_server_address(address, self.settings.allow_private_addresses)
            except AddressError as error:
                raise Refusal("not-allowed", f"{network.host}: {error.text}") from None
        # Connect to what was checked: resolving again could get another answer (DNS rebinding).
        return network.model_copy(update={"address": addresses[0]})

    async def identity(self, owner: str, network: IrcNetwork, fallback_nick: str) -> IrcIdentity:
        """Who `owner` is on `network`: the nick stored for this network and credentials; `fallback_nick` without a
        stored nick."""
        try:
            record = await self.repository.account(owner, network.name, reveal=True, transport=self.transport)
        except SecretsUnavailable as error:
            log.warning("%s on IRC network %s: %s", owner, network.name, error)
            raise Refusal("service-unavailable", f"The gateway cannot read your stored IRC passwords for "
                                                 f"{network.name}; set them again (irc-sasl, irc-nickserv).") from None
        if record is None:
            return IrcIdentity(fallback_nick)
        nick = record.nick or fallback_nick
        sasl: dict[str, Any] = {}
        if record.sasl_password is not None:
            sasl = {"sasl_account": record.sasl_account or nick, "sasl_password": record.sasl_password}
        return IrcIdentity(nick, nickserv_password=record.nickserv_password, **sasl)
