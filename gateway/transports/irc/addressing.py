"""IRC addresses as JID local parts, and IRC names compared the way the network compares them.

A JID's local part (already unescaped from XEP-0106 by the XMPP side) names one of:

- a channel: `#python%libera` (channel prefixes # & + !, or the network's CHANTYPES),
- a user: `alice%libera`,
- the network itself: `libera`.

The network name never contains `%`, so the local part is split at its last `%` (a channel name may hold one).

Nicks and channels are compared with the network's CASEMAPPING (ISUPPORT): `rfc1459` (the default when a server
says nothing; `[]\\~` are the upper case of `{}|^`), `strict-rfc1459` (without `~`/`^`) or `ascii`. This is
hand-written: the `irc` package's `IRCFoldedCase` knows only rfc1459, maps `^`/`~` the other way round from the
ISUPPORT definition, and lower-cases non-ASCII letters, which IRC servers do not.

`check_server_address` refuses IP addresses a user-named server must not resolve to (loopback, private,
link-local...), so the gateway is no way into the operator's network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from gateway.transports.base import AddressError
from gateway.transports.irc.settings import check_network_name

DEFAULT_CHANTYPES = "#&+!"
MAX_CHANNEL_BYTES = 200  # RFC 2812; servers advertise less (CHANNELLEN), never more in practice
MAX_NICK_BYTES = 64  # beyond every server's NICKLEN we know of
EXAMPLE_CHANNEL = "#python%libera"
EXAMPLE_NICK = "alice%libera"

# Characters no channel name may contain (RFC 2812 chanstring), plus the separator of channel lists.
_CHANNEL_FORBIDDEN = {"\0", "\x07", "\r", "\n", " ", ",", ":"}
# RFC 2812 nickname: a letter or special first, then letters, digits, specials or '-'.
_SPECIAL = "[]\\`_^{|}"
_NICK_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + _SPECIAL)
_NICK_REST = _NICK_FIRST | frozenset("0123456789-")


class Casemapping(Enum):
    """A network's CASEMAPPING: how it folds nicks and channel names to compare them."""

    RFC1459 = "rfc1459"
    STRICT_RFC1459 = "strict-rfc1459"
    ASCII = "ascii"

    @classmethod
    def from_isupport(cls, value: str | None) -> Casemapping:
        """The mapping a server announced (ISUPPORT CASEMAPPING=...); rfc1459 when absent or unknown."""
        if value is None:
            return cls.RFC1459
        try:
            return cls(value.strip().lower())
        except ValueError:
            return cls.RFC1459  # the protocol's default; an unknown mapping (e.g. rfc7613) folds at least ASCII

    def fold(self, name: str) -> str:
        """The name in the network's lower case: equal names fold to the same string."""
        return name.translate(_TABLES[self])

    def equal(self, a: str, b: str) -> bool:
        return self.fold(a) == self.fold(b)


_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = _ASCII_UPPER.lower()
_TABLES = {
    Casemapping.ASCII: str.maketrans(_ASCII_UPPER, _ASCII_LOWER),
    Casemapping.STRICT_RFC1459: str.maketrans(_ASCII_UPPER + "[]\\", _ASCII_LOWER + "{}|"),
    Casemapping.RFC1459: str.maketrans(_ASCII_UPPER + "[]\\~", _ASCII_LOWER + "{}|^"),
}

Kind = Literal["channel", "nick", "network"]


@dataclass(frozen=True)
class IrcAddress:
    """What a JID local part names on IRC: a channel or a nick on a network, or the network."""

    kind: Kind
    network: str
    name: str | None = None  # the channel or nick as written; None for the network

    @property
    def local_part(self) -> str:
        """The JID local part (unescaped) for this address."""
        return self.network if self.name is None else f"{self.name}%{self.network}"

    def key(self, casemapping: Casemapping = Casemapping.RFC1459) -> str:
        """The local part with the name folded: two addresses are the same IRC entity iff their keys are equal."""
        return self.network if self.name is None else f"{casemapping.fold(self.name)}%{self.network}"

    def same_as(self, other: IrcAddress, casemapping: Casemapping = Casemapping.RFC1459) -> bool:
        return self.kind == other.kind and self.key(casemapping) == other.key(casemapping)


def is_channel_name(name: str, chantypes: str = DEFAULT_CHANTYPES) -> bool:
    """Does `name` start with one of the network's channel prefixes?"""
    return bool(name) and name[0] in chantypes


def check_channel(name: str, chantypes: str = DEFAULT_CHANTYPES, channellen: int | None = None) -> str:
    """The channel name if it is one IRC can carry; AddressError with the reason otherwise."""
    if not is_channel_name(name, chantypes):
        raise AddressError(f"{name!r} is no channel name: it must start with one of {' '.join(chantypes)}.")
    if len(name) < 2:
        raise AddressError(f"{name!r} is no channel name: a name must follow the {name[:1]!r}.")
    bad = sorted(_CHANNEL_FORBIDDEN.intersection(name))
    if bad:
        shown = ", ".join(_describe(ch) for ch in bad)
        raise AddressError(f"{name!r} is no channel name: it contains {shown}.")
    limit = min(channellen, MAX_CHANNEL_BYTES) if channellen else MAX_CHANNEL_BYTES
    if len(name.encode()) > limit:
        raise AddressError(f"the channel name {name[:20]!r}... is longer than the network allows ({limit} bytes).")
    return name


def check_nick(nick: str, nicklen: int | None = None) -> str:
    """The nick if the network can carry it (RFC 2812 characters); AddressError with the reason otherwise."""
    if not nick:
        raise AddressError("a nick is empty.")
    if nick[0] not in _NICK_FIRST:
        what = "a digit" if nick[0].isdigit() else _describe(nick[0])
        raise AddressError(f"{nick!r} is no IRC nick: it must not start with {what}.")
    bad = sorted({ch for ch in nick if ch not in _NICK_REST})
    if bad:
        shown = ", ".join(_describe(ch) for ch in bad)
        allowed = f"letters, digits, - and {_SPECIAL}"
        raise AddressError(f"{nick!r} is no IRC nick: it contains {shown} (allowed: {allowed}).")
    limit = min(nicklen, MAX_NICK_BYTES) if nicklen else MAX_NICK_BYTES
    if len(nick) > limit:
        raise AddressError(f"{nick!r} is no IRC nick here: it is longer than {limit} characters.")
    return nick


# What no nick can hold and still be written as a command's target: the line's framing (NUL, CR, LF, space), a
# target list's separator, a trailing parameter's mark, and a prefix's separators.
_TARGET_FORBIDDEN = {"\0", "\r", "\n", " ", ",", ":", "!", "@"}


def check_target(nick: str, nicklen: int | None = None) -> str:
    """A nick someone has on IRC, to be written to; AddressError with the reason otherwise.

    Looser than `check_nick` (the nicks users choose for themselves): servers assign nicks RFC 2812 does not allow
    (UTF-8 letters, a digit first after a collision), and a reply to such a nick must still reach it.
    """
    if not nick:
        raise AddressError("a nick is empty.")
    bad = sorted(_TARGET_FORBIDDEN.intersection(nick))
    if bad:
        raise AddressError(f"{nick!r} is no IRC nick: it contains {', '.join(_describe(ch) for ch in bad)}.")
    limit = min(nicklen, MAX_NICK_BYTES) if nicklen else MAX_NICK_BYTES
    if len(nick.encode()) > limit:
        raise AddressError(f"{nick!r} is no IRC nick here: it is longer than {limit} bytes.")
    return nick


def parse_local_part(
    local: str, chantypes: str = DEFAULT_CHANTYPES, *, nicklen: int | None = None, channellen: int | None = None
) -> IrcAddress:
    """What the (unescaped) local part of a JID on the IRC domain names; AddressError with a helpful text if none."""
    if not local:
        raise AddressError(f"An address is needed: a channel like {EXAMPLE_CHANNEL}, a user like {EXAMPLE_NICK}.")
    name, sep, network = local.rpartition("%")
    if not sep:
        try:
            return IrcAddress("network", check_network_name(local))
        except ValueError as exc:
            raise AddressError(
                f"{local!r} is no IRC network name. Channels are written {EXAMPLE_CHANNEL}, users {EXAMPLE_NICK}."
            ) from exc
    if not network:
        raise AddressError(f"{local!r} names no network after the '%', e.g. {EXAMPLE_CHANNEL}.")
    try:
        network = check_network_name(network)
    except ValueError as exc:
        raise AddressError(f"{network!r} in {local!r} is no IRC network name.") from exc
    if not name:
        raise AddressError(f"{local!r} names no channel or nick before the '%', e.g. {EXAMPLE_CHANNEL}.")
    if is_channel_name(name, chantypes):
        return IrcAddress("channel", network, check_channel(name, chantypes, channellen))
    return IrcAddress("nick", network, check_target(name, nicklen))


def channel_address(channel: str, network: str, chantypes: str = DEFAULT_CHANTYPES) -> IrcAddress:
    """The address of a channel received from IRC (checked: it is about to become a JID)."""
    return IrcAddress("channel", check_network_name(network), check_channel(channel, chantypes))


def nick_address(nick: str, network: str) -> IrcAddress:
    """The address of a user received from IRC."""
    return IrcAddress("nick", check_network_name(network), check_target(nick))


def check_server_address(address: str, allow_private: bool = False) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IP address a user-named server resolved to; AddressError if it is internal and that is not allowed.

    Loopback, private, link-local, shared (CGNAT), multicast, unspecified and reserved ranges count as internal;
    an IPv4 address inside IPv6 (::ffff:a.b.c.d, 6to4 is left to is_private) is judged as the IPv4 address.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError as exc:
        raise AddressError(f"{address!r} is no IP address.") from exc
    judged = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    internal = (
        judged.is_loopback
        or judged.is_private
        or judged.is_link_local
        or judged.is_multicast
        or judged.is_unspecified
        or judged.is_reserved
        or (isinstance(judged, ipaddress.IPv4Address) and judged in _SHARED)
    )
    if internal and not allow_private:
        raise AddressError(
            f"That server is at {judged}, an internal address (loopback, private or link-local): this gateway does"
            " not connect there."
        )
    return ip


_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT


def _describe(ch: str) -> str:
    names = {"\0": "NUL", "\x07": "BEL", "\r": "CR", "\n": "LF", " ": "a space", ",": "a comma", ":": "a colon",
             "!": "'!'", "@": "'@'"}
    if ch in names:
        return names[ch]
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
