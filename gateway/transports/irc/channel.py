"""What we know about one network and the channels on it: ISUPPORT values, members with their modes, topics.

These are plain state objects with no reference to a connection or a user, updated by idempotent methods (adding
a member twice, removing a missing one or setting a mode already set change nothing) that report what changed.

Sharing between users: every connection in `#chan` on a network receives the same lines about it, so N users in
one channel would hold N equal member lists. A `ChannelDirectory` per network (owned by the sessions manager, not
by a connection) holds one `Channel` per channel with the connections inside it, in the order they joined. The
first one is the channel's *writer*: it alone applies the lines about membership and modes to the shared `Channel`
and fans its events out to every connection in the channel; the others only keep their own membership and ignore
those lines (they still answer for their own JOIN/PART/KICK). Attributes a line sets outright (away, account,
host) are set by whichever connection reads it: idempotent. When the writer leaves or drops, the next connection
in the channel becomes the writer and re-reads NAMES (`replace_members`), so no line between the hand-over and the
NAMES reply can leave the list stale. Nothing here depends on which connection applies a line, which is what makes
that hand-over possible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, TypeVar

from gateway.transports.irc.addressing import DEFAULT_CHANTYPES, Casemapping
from gateway.transports.irc.modes import DEFAULT_CHANMODES, Prefixes, chanmodes_from_isupport


@dataclass(slots=True)
class ServerInfo:
    """The ISUPPORT (005) values we use, with the protocol's defaults until the server says otherwise (only those:
    one per connection, so the other tokens are not kept)."""

    casemapping: Casemapping = Casemapping.RFC1459
    prefixes: Prefixes = field(default_factory=Prefixes)
    chantypes: str = DEFAULT_CHANTYPES
    chanmodes: tuple[str, str, str, str] = DEFAULT_CHANMODES
    nicklen: int | None = None
    channellen: int | None = None
    linelen: int | None = None
    network: str | None = None
    server_name: str | None = None

    def load(self, tokens: Iterable[str]) -> None:
        """Take the `KEY=value` tokens of one 005 line (without the target nick and the trailing text)."""
        for token in tokens:
            if token.startswith("-"):
                continue
            key, _, value = token.partition("=")
            key = key.upper()
            if key == "CASEMAPPING":
                self.casemapping = Casemapping.from_isupport(value)
            elif key == "PREFIX":
                self.prefixes = Prefixes.from_isupport(value)
            elif key == "CHANTYPES" and value:
                self.chantypes = value
            elif key == "CHANMODES":
                self.chanmodes = chanmodes_from_isupport(value)
            elif key == "NICKLEN":
                self.nicklen = _positive(value)
            elif key == "CHANNELLEN":
                self.channellen = _positive(value)
            elif key == "LINELEN":  # an extension past RFC 1459's 512 bytes; less would leave no room for a JOIN
                linelen = _positive(value)
                self.linelen = linelen if linelen is not None and linelen >= 512 else None
            elif key == "NETWORK":
                self.network = value or None

    def fold(self, name: str) -> str:
        return self.casemapping.fold(name)

    def is_channel(self, name: str) -> bool:
        return bool(name) and name[0] in self.chantypes


def _positive(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) > 0 else None


@dataclass(slots=True)
class Member:
    """One user in a channel as we know them."""

    nick: str
    modes: frozenset[str] = frozenset()
    user: str | None = None
    host: str | None = None
    away: str | None = None  # the away message, None when present
    account: str | None = None  # services account (account-notify), None when unknown or logged out


@dataclass(slots=True)
class Channel:
    """A channel: its members by folded nick, its topic. No connection or user is referenced from here."""

    name: str
    casemapping: Casemapping = Casemapping.RFC1459
    members: dict[str, Member] = field(default_factory=dict)
    topic: str | None = None
    topic_by: str | None = None
    topic_time: datetime | None = None

    def member(self, nick: str) -> Member | None:
        return self.members.get(self.casemapping.fold(nick))

    def __contains__(self, nick: object) -> bool:
        return isinstance(nick, str) and self.casemapping.fold(nick) in self.members

    def add(self, member: Member) -> bool:
        """Add or refresh a member; True if they were not there before."""
        key = self.casemapping.fold(member.nick)
        known = self.members.get(key)
        if known is not None:
            self.members[key] = replace(
                known,
                nick=member.nick,
                user=member.user or known.user,
                host=member.host or known.host,
                modes=known.modes | member.modes,
            )
            return False
        self.members[key] = member
        return True

    def remove(self, nick: str) -> Member | None:
        return self.members.pop(self.casemapping.fold(nick), None)

    def rename(self, old: str, new: str) -> bool:
        """A NICK change; False if `old` is not here."""
        member = self.members.pop(self.casemapping.fold(old), None)
        if member is None:
            return False
        self.members[self.casemapping.fold(new)] = replace(member, nick=new)
        return True

    def set_mode(self, nick: str, mode: str, added: bool) -> Member | None:
        member = self.member(nick)
        if member is None:
            return None
        member.modes = member.modes | {mode} if added else member.modes - {mode}
        return member

    def replace_members(self, members: Iterable[Member]) -> None:
        """The complete list from NAMES: whoever is not in it is gone. Known details (host, away) are kept."""
        fresh: dict[str, Member] = {}
        for member in members:
            key = self.casemapping.fold(member.nick)
            known = self.members.get(key)
            if known is not None:
                member = replace(
                    member,
                    user=member.user or known.user,
                    host=member.host or known.host,
                    away=known.away,
                    account=known.account,
                )
            fresh[key] = member
        self.members = fresh

    def snapshot(self) -> list[Member]:
        """A copy of the members (safe to keep while the channel changes)."""
        return [replace(member) for member in self.members.values()]


class ChannelTable:
    """Channels keyed by their folded name, for one network."""

    def __init__(self, casemapping: Casemapping = Casemapping.RFC1459) -> None:
        self.casemapping = casemapping
        self._channels: dict[str, Channel] = {}

    def get(self, name: str) -> Channel | None:
        return self._channels.get(self.casemapping.fold(name))

    def open(self, name: str) -> Channel:
        """The channel of that name, created if new."""
        key = self.casemapping.fold(name)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = Channel(name, self.casemapping)
        return channel

    def close(self, name: str) -> Channel | None:
        return self._channels.pop(self.casemapping.fold(name), None)

    def rekey(self, casemapping: Casemapping) -> None:
        """The server announced its CASEMAPPING: fold every key (and member key) again."""
        self.casemapping = casemapping
        old = list(self._channels.values())
        self._channels = {}
        for channel in old:
            channel.casemapping = casemapping
            channel.replace_members(list(channel.members.values()))
            self._channels[casemapping.fold(channel.name)] = channel



H = TypeVar("H")


class ChannelDirectory(Generic[H]):
    """One network's shared channels, the local connections (holders) in each, and the channels each holder is in
    (by folded name, with the name as first seen); see the module docstring."""

    __slots__ = ("_held", "_holders", "table")

    def __init__(self, casemapping: Casemapping = Casemapping.RFC1459) -> None:
        self.table = ChannelTable(casemapping)
        self._holders: dict[str, list[H]] = {}
        self._held: dict[H, dict[str, str]] = {}

    def fold(self, name: str) -> str:
        return self.table.casemapping.fold(name)

    def get(self, name: str) -> Channel | None:
        return self.table.get(name)

    def enter(self, name: str, holder: H) -> Channel:
        """`holder` is in the channel (its JOIN was confirmed); the first one in is the writer."""
        key = self.fold(name)
        holders = self._holders.setdefault(key, [])
        if holder not in holders:
            holders.append(holder)
        self._held.setdefault(holder, {})[key] = name
        return self.table.open(name)

    def leave(self, name: str, holder: H) -> H | None:
        """`holder` left the channel; the new writer if the writer left and someone is still in, else None."""
        key = self.fold(name)
        held = self._held.get(holder)
        if held is not None:
            held.pop(key, None)
            if not held:
                del self._held[holder]
        holders = self._holders.get(key, [])
        if holder not in holders:
            return None
        was_writer = holders[0] is holder
        holders.remove(holder)
        if not holders:
            del self._holders[key]
            self.table.close(name)
            return None
        return holders[0] if was_writer else None

    def holds(self, name: str, holder: H) -> bool:
        """Whether `holder` is in that channel."""
        return self.fold(name) in self._held.get(holder, ())

    def held(self, holder: H) -> list[str]:
        """The names of the channels `holder` is in."""
        return list(self._held.get(holder, {}).values())

    def writer(self, name: str) -> H | None:
        holders = self._holders.get(self.fold(name))
        return holders[0] if holders else None

    def holders(self, name: str) -> list[H]:
        return list(self._holders.get(self.fold(name), ()))

    def rekey(self, casemapping: Casemapping) -> None:
        """The server announced its CASEMAPPING (in 005, before any join in practice)."""
        if casemapping is self.table.casemapping:
            return
        self.table.rekey(casemapping)
        self._holders = {casemapping.fold(key): holders for key, holders in self._holders.items()}
        self._held = {holder: {casemapping.fold(name): name for name in held.values()}
                      for holder, held in self._held.items()}
