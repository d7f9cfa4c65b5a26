"""The `[transports.irc]` table: the networks admins allow, who we are on IRC, and per-user limits.

Networks listed here are upserted into the database at start (the database is the source of truth; `admin irc
network ...` manages it at run time). In TOML they are an array of tables:

    [[transports.irc.networks]]
    name = "libera"
    host = "irc.libera.chat"
"""

from __future__ import annotations

import codecs
import functools
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from gateway.transports.settings import StrictModel, TransportSettings

# A network name is the local part of `network@irc.example.org` and the suffix of `#chan%network`: keep it to
# characters that need no XEP-0106 escaping and cannot be confused with our separators.
_NETWORK_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$")
# The USER command's username: what ident-less servers show as ~user. No blanks, no @, nothing exotic.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,9}$")
IRC_LINE_BYTES = 512  # RFC 1459: a line with its CRLF


@functools.lru_cache(maxsize=1024)  # on every IRC event (a connection's key): the same few names
def check_network_name(value: str) -> str:
    """The normalized (lower-case) network name; ValueError with a reason if it cannot be one."""
    value = value.strip().lower()
    if not _NETWORK_NAME.match(value):
        raise ValueError(
            f"{value!r} is no network name: use 1 to 64 of a-z, 0-9, '.', '_', '-', starting and ending with a letter"
            " or digit (it becomes the JID network@<irc domain>)"
        )
    return value


def check_host(value: str) -> str:
    """A host name or IP address literal, normalized; ValueError with a reason otherwise. Nothing is resolved."""
    value = value.strip().lower()
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        pass
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is no host name or IP address")
    return value.rstrip(".")


class IrcNetwork(StrictModel):
    """One IRC network users may connect to."""

    name: str = Field(description="short name, the JID local part: #chan%NAME@<irc domain>")
    host: str = Field(description="server host name or IP address")
    port: int | None = Field(default=None, ge=1, le=65535, description="default 6697 with TLS, 6667 without")
    tls: bool = True
    verify_certificate: bool = Field(default=True, description="check the server certificate and host name")
    ca_file: str | None = Field(
        default=None, description="PEM file of the certificate authorities to trust for this network, instead of the"
        " system's (a private network's own CA)"
    )
    password: SecretStr | None = Field(default=None, description="server password (PASS), if the network wants one")
    encoding_fallback: str = Field(
        default="latin-1", description="how to read received bytes that are not UTF-8 (a Python codec name)"
    )
    max_line_bytes: int = Field(
        default=IRC_LINE_BYTES, ge=256, le=16384, description="longest line the server accepts, with CRLF"
    )
    always_on: bool | None = Field(
        default=None, description="users stay connected with no resource online unless they turn it off (None: the"
        " transport's always_on)"
    )
    archive: bool = Field(default=True, description="keep the network's channel lines in the room archives")
    # Set for a server a user named: the address that was checked, connected to instead of resolving `host` again
    # (a DNS answer that changed in between would bypass the check); `host` still names it for TLS.
    address: str | None = Field(default=None, exclude=True, description="the checked address to connect to")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_network_name(value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not Path(value).is_file():
            raise ValueError(f"{value!r} is no file (a PEM file of CA certificates)")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not secret:
            raise ValueError("the password is empty: leave the key out for a network without one")
        if any(ch in secret for ch in "\r\n\0 "):
            raise ValueError("the password contains a blank, CR, LF or NUL, which IRC cannot send")
        return value

    @field_validator("encoding_fallback")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            name = codecs.lookup(value.strip()).name
            b"\xe9t\xe9".decode(name, errors="replace")  # refuses bytes-to-bytes codecs such as hex
        except LookupError:
            raise ValueError(f"{value!r} is no text encoding Python knows (e.g. latin-1, cp1252, koi8-r)") from None
        return name

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 6697 if self.tls else 6667


class IrcSettings(TransportSettings):
    networks: tuple[IrcNetwork, ...] = Field(default=(), description="networks admins allow ([[...networks]])")
    allow_arbitrary_servers: bool = Field(
        default=False, description="let users name servers that are not among the networks"
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="let user-named servers resolve to loopback, private or link-local addresses (never by default:"
        " the gateway must not be a way into the operator's network)",
    )
    username: str = Field(default="xmpp", description="the IRC username (USER) of every connection")
    realname: str = Field(default="XMPP gateway user", description="the IRC real name (USER) of every connection")
    max_networks_per_user: int = Field(default=5, ge=1)
    max_channels_per_user: int = Field(default=40, ge=1)
    flood_burst: int = Field(default=5, ge=1, description="lines a connection may send at once")
    flood_rate: float = Field(default=2.0, gt=0, le=1000, description="lines per second after the burst")
    queue_size: int = Field(default=500, ge=1, description="lines waiting per connection before senders are refused")
    ping_interval: float = Field(default=60.0, gt=0, description="seconds of silence before we PING the server")
    ping_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for the PONG before reconnecting")
    reconnect_max_delay: float = Field(default=300.0, ge=1, description="cap of the reconnect backoff, seconds")
    persistent_connections: bool = Field(
        default=False, description="keep a user's connection open when they have left every channel"
    )
    quit_grace_period: float = Field(
        default=60.0, ge=0, description="seconds between leaving the last channel and QUIT (not persistent)"
    )
    always_on: bool = Field(
        default=False, description="a user's IRC connection and channels stay when none of their resources is in a"
        " room, unless they turn it off (irc-always-on); a network's always_on wins"
    )
    no_archive: tuple[str, ...] = Field(
        default=(), description="channels (#channel%network) whose lines leave no archive row: still delivered, but"
        " no MAM nor history on join"
    )
    history_on_join: int = Field(
        default=20, ge=0, le=250,
        description="lines of a channel's archive a join gets when the client asks for no history (0: none)",
    )

    @field_validator("networks")
    @classmethod
    def _unique_networks(cls, value: tuple[IrcNetwork, ...]) -> tuple[IrcNetwork, ...]:
        seen: set[str] = set()
        for network in value:
            if network.name in seen:
                raise ValueError(f"network {network.name!r} is defined twice")
            seen.add(network.name)
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.strip()
        if not _USERNAME.match(value):
            raise ValueError(
                f"{value!r} is no IRC username: 1 to 10 of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter or"
                " digit"
            )
        return value

    @field_validator("realname")
    @classmethod
    def _realname(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the real name is empty")
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError("the real name contains CR, LF or NUL")
        if len(value.encode()) > 100:
            raise ValueError("the real name is longer than 100 bytes")
        return value

    @field_validator("no_archive")
    @classmethod
    def _no_archive(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for room in value:
            channel, separator, network = room.rpartition("%")
            if not separator or not channel or channel[0] not in "#&+!":
                raise ValueError(f"{room!r} is no channel: write #channel%network")
            check_network_name(network)
        return value

    def network(self, name: str) -> IrcNetwork | None:
        """The configured network of that name (case-insensitive), if any."""
        name = name.lower()
        return next((n for n in self.networks if n.name == name), None)

    def always_on_default(self, network: str) -> bool:
        """Whether users stay connected to `network` with no resource online, unless they chose otherwise."""
        configured = self.network(network)
        return configured.always_on if configured is not None and configured.always_on is not None else self.always_on

    def archived(self, network: str, channel: str, fold: Callable[[str], str] = str.lower) -> bool:
        """Whether a channel's lines are archived: not when its network's `archive` is off or it is listed in
        no_archive (names compared as the network folds them: `fold`)."""
        configured = self.network(network)
        if configured is not None and not configured.archive:
            return False
        if not self.no_archive:  # asked for every line a channel sends: no folding when nothing is listed
            return True
        folded = fold(channel)
        return not any(name.rpartition("%")[2].lower() == network and fold(name.rpartition("%")[0]) == folded
                       for name in self.no_archive)
