"""What an `IrcConnection` reports to the transport: one dataclass per event, and the callbacks that take them.

The transport implements `IrcEvents` (or subclasses `IrcEventsBase`, which ignores every event, and overrides what
it needs). Callbacks are awaited in the order the lines arrived, inside the connection's read loop: a callback must
not await a connection call that waits for a server reply (join, part, set_nick, list_channels) - it would wait for
a line it is itself holding up. Start a task for that. An exception in a callback is logged and does not stop the
connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from gateway.transports.irc.channel import Member
from gateway.transports.irc.modes import MemberModeChange


@dataclass(frozen=True)
class MessageEvent:
    """A PRIVMSG or NOTICE to a channel or to us (private), or our own message (`own`).

    Our own messages are reported exactly once: with echo-message, as the server echoes them (with its
    server-time and msgid tags); without it, when the line has been written to the socket (`time` None), unless
    the events say `own_messages = False`.
    """

    source: str  # the sender's nick, or the server's name (`from_server`)
    target: str  # a channel, or our nick for a private message
    text: str  # CTCP ACTION already unwrapped; IRC formatting codes still in (see formatting.py)
    action: bool = False
    notice: bool = False
    time: datetime | None = None  # IRCv3 server-time
    tags: Mapping[str, str] = field(default_factory=dict)
    own: bool = False
    private: bool = False  # to our nick (not a channel)
    from_server: bool = False
    user: str | None = None
    host: str | None = None

    @property
    def peer(self) -> str:
        """The other side of a private conversation (the sender, or for our own message the target)."""
        return self.target if self.own else self.source


@dataclass(frozen=True)
class JoinEvent:
    channel: str
    nick: str
    own: bool = False
    user: str | None = None
    host: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class PartEvent:
    channel: str
    nick: str
    reason: str | None = None
    own: bool = False


@dataclass(frozen=True)
class QuitEvent:
    nick: str
    reason: str | None
    channels: tuple[str, ...]  # our channels the user was in


@dataclass(frozen=True)
class NickEvent:
    """Another user changed nick (our own change is an OwnNickEvent)."""

    old: str
    new: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class KickEvent:
    channel: str
    nick: str
    by: str
    reason: str | None
    own: bool = False


@dataclass(frozen=True)
class ModeEvent:
    """A channel MODE line; `changes` are its membership modes (+o alice), already applied to the members."""

    channel: str
    by: str
    modes: str
    args: tuple[str, ...]
    changes: tuple[MemberModeChange, ...]


@dataclass(frozen=True)
class TopicEvent:
    channel: str
    topic: str
    by: str | None
    changed: bool  # True for a TOPIC line now, False for the topic sent on join (332)
    time: datetime | None = None


@dataclass(frozen=True)
class NamesEvent:
    """The member list of a channel is complete (end of NAMES after our JOIN, or after a NAMES request)."""

    channel: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class AwayEvent:
    nick: str
    message: str | None  # None: back


@dataclass(frozen=True)
class AccountEvent:
    nick: str
    account: str | None  # None: logged out


@dataclass(frozen=True)
class ChghostEvent:
    nick: str
    user: str
    host: str


OwnNickReason = Literal["in-use", "changed", "server"]


@dataclass(frozen=True)
class OwnNickEvent:
    """Our nick on IRC changed: an alternate because the nick was in use, a change we asked for, or the server's."""

    old: str
    new: str
    reason: OwnNickReason
    wanted: str  # the nick the user wants


@dataclass(frozen=True)
class DisconnectedEvent:
    reason: str
    reconnecting: bool  # False after quit()


@dataclass(frozen=True)
class ReconnectedEvent:
    """Back on the network after a disconnect, every channel rejoined (those that failed are in `lost`)."""

    channels: tuple[str, ...]
    lost: tuple[tuple[str, str], ...] = ()  # (channel, why)


@dataclass(frozen=True)
class ErrorEvent:
    """Something the user should read: a server error numeric, a SASL or NickServ failure, a refused NICK."""

    text: str
    command: str | None = None  # the numeric or command, e.g. "401", "SASL"
    target: str | None = None  # the nick or channel it is about, if any


class IrcEvents(Protocol):
    # Whether our own messages are reported when written (without echo-message): a task and an event per message
    # that a user who already knows what it sent can do without.
    own_messages: bool

    async def on_message(self, event: MessageEvent) -> None: ...
    async def on_join(self, event: JoinEvent) -> None: ...
    async def on_part(self, event: PartEvent) -> None: ...
    async def on_quit(self, event: QuitEvent) -> None: ...
    async def on_nick(self, event: NickEvent) -> None: ...
    async def on_kick(self, event: KickEvent) -> None: ...
    async def on_mode(self, event: ModeEvent) -> None: ...
    async def on_topic(self, event: TopicEvent) -> None: ...
    async def on_names(self, event: NamesEvent) -> None: ...
    async def on_away(self, event: AwayEvent) -> None: ...
    async def on_account(self, event: AccountEvent) -> None: ...
    async def on_chghost(self, event: ChghostEvent) -> None: ...
    async def on_own_nick(self, event: OwnNickEvent) -> None: ...
    async def on_disconnected(self, event: DisconnectedEvent) -> None: ...
    async def on_reconnected(self, event: ReconnectedEvent) -> None: ...
    async def on_error(self, event: ErrorEvent) -> None: ...


class IrcEventsBase:
    """Every callback of IrcEvents, doing nothing: subclass and override what you need."""

    own_messages = True

    async def on_message(self, event: MessageEvent) -> None:
        pass

    async def on_join(self, event: JoinEvent) -> None:
        pass

    async def on_part(self, event: PartEvent) -> None:
        pass

    async def on_quit(self, event: QuitEvent) -> None:
        pass

    async def on_nick(self, event: NickEvent) -> None:
        pass

    async def on_kick(self, event: KickEvent) -> None:
        pass

    async def on_mode(self, event: ModeEvent) -> None:
        pass

    async def on_topic(self, event: TopicEvent) -> None:
        pass

    async def on_names(self, event: NamesEvent) -> None:
        pass

    async def on_away(self, event: AwayEvent) -> None:
        pass

    async def on_account(self, event: AccountEvent) -> None:
        pass

    async def on_chghost(self, event: ChghostEvent) -> None:
        pass

    async def on_own_nick(self, event: OwnNickEvent) -> None:
        pass

    async def on_disconnected(self, event: DisconnectedEvent) -> None:
        pass

    async def on_reconnected(self, event: ReconnectedEvent) -> None:
        pass

    async def on_error(self, event: ErrorEvent) -> None:
        pass
