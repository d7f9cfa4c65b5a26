"""The channels one connection is in, wants to be in, and what it learns about their members.

Which channels a connection is in is kept by the network's `ChannelDirectory` (channel.py), shared with the other
local users' connections; this unit adds what is one user's own: the channels to rejoin after a reconnect (with
their keys), the JOIN and PART requests (answered through `replies.py`), and the lines about channels and their
members. Of the connections in a channel only the writer applies those lines to the shared `Channel` and fans
the events out to every connection in it; each still answers for its own JOIN, PART and KICK.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from gateway.core.events import Refusal
from gateway.transports.irc.addressing import check_channel
from gateway.transports.irc.channel import Channel, Member
from gateway.transports.irc.errors import JoinError, JoinErrorKind, NotConnected, disconnected
from gateway.transports.irc.events import (
    AccountEvent,
    AwayEvent,
    ChghostEvent,
    ErrorEvent,
    JoinEvent,
    KickEvent,
    ModeEvent,
    NamesEvent,
    NickEvent,
    PartEvent,
    QuitEvent,
    TopicEvent,
)
from gateway.transports.irc.lines import build_line, check_param, one_line
from gateway.transports.irc.modes import MemberModeChange, member_mode_changes
from gateway.transports.irc.registration import NICK_CHANGED
from gateway.transports.irc.replies import Reply
from gateway.transports.irc.wire import Line, words

if TYPE_CHECKING:
    from gateway.transports.irc.connection import IrcConnection

JOINED: Reply[Channel] = Reply(
    "joined", lambda channel, reason: JoinError("disconnected", channel, disconnected(reason))
)
PARTED: Reply[None] = Reply("parted", lambda _key, reason: NotConnected(disconnected(reason)))
_JOIN_ERRORS: dict[str, JoinErrorKind] = {"474": "banned", "473": "invite-only", "475": "bad-key", "471": "full"}
PART_TIMEOUT = 5.0


class Membership:
    """One connection's channels; see the module docstring."""

    __slots__ = ("_conn", "_join_keys", "_names", "_wanted")

    def __init__(self, conn: IrcConnection) -> None:
        self._conn = conn
        self._wanted: dict[str, tuple[str, str | None]] = {}  # folded -> (name, key): kept across reconnects
        self._join_keys: dict[str, str | None] = {}  # the key of each JOIN awaiting the server's answer
        self._names: dict[str, list[Member]] = {}  # NAMES replies being read, per link

    # -- what we are in ---------------------------------------------------------------------------------------

    def channel(self, name: str) -> Channel | None:
        directory = self._conn.directory
        return directory.get(name) if directory.holds(name, self._conn) else None

    def channels(self) -> list[Channel]:
        directory = self._conn.directory
        return [c for name in directory.held(self._conn) if (c := directory.get(name)) is not None]

    def channels_with(self, nick: str) -> list[Channel]:
        return [channel for channel in self.channels() if nick in channel]

    def is_joined(self, name: str) -> bool:
        return self._conn.directory.holds(name, self._conn)

    @property
    def wanted(self) -> dict[str, str | None]:
        return dict(self._wanted.values())

    def _writes(self, name: str) -> bool:
        """Whether this connection applies the lines about that channel (see channel.py)."""
        return self._conn.directory.writer(name) is self._conn

    def _written(self) -> list[Channel]:
        return [c for c in self.channels() if self._writes(c.name)]

    def _leave(self, name: str) -> None:
        successor = self._conn.directory.leave(name, self._conn)
        if successor is not None:
            successor._tasks.spawn(successor._membership._take_over(name))

    def new_link(self) -> None:
        """A new link: we are in no channel (until rejoined), and no NAMES reply is being read."""
        self.link_lost()
        self._names = {}

    def link_lost(self) -> None:
        self._join_keys.clear()
        for name in self._conn.directory.held(self._conn):
            self._leave(name)

    async def _take_over(self, name: str) -> None:
        """We became the channel's writer: NAMES again, so that what the last writer applied and we did not is
        corrected (see on_366)."""
        if not self._conn.connected or not self._writes(name):
            return
        with contextlib.suppress(ConnectionError, OSError, Refusal):
            await self._conn._queue.put(build_line("NAMES", name))

    async def _fan(self, name: str, about: str | None, callback: str, event: object,
                   skip: IrcConnection | None = None) -> None:
        """An event about a channel (`callback` of IrcEvents), to every connection in it (but `skip`), except the
        one it is about (`about`, a nick): that one reports its own joins, parts and nick changes itself."""
        for holder in self._conn.directory.holders(name):
            if holder is not skip and (about is None or not holder.same(about, holder.nick)):
                await holder._emit(getattr(holder.events, callback)(event))

    # -- requests ---------------------------------------------------------------------------------------------

    async def join(self, channel: str, key: str | None) -> Channel:
        conn = self._conn
        channel = check_channel(channel, conn.server.chantypes, conn.server.channellen)
        if key is not None:
            check_param(key, "channel key")
        state = await self._join(channel, key)
        self._wanted[conn.server.fold(channel)] = (state.name, key)
        return state

    async def _join(self, channel: str, key: str | None) -> Channel:
        conn = self._conn
        folded = conn.server.fold(channel)
        known = self.channel(channel)
        if known is not None:
            return known
        line = build_line("JOIN", channel, key) if key else build_line("JOIN", channel)

        async def send() -> None:
            self._join_keys[folded] = key
            await conn._queue.put(line)

        try:
            return await conn._replies.request(JOINED, send, conn.join_timeout, folded)
        except TimeoutError:
            raise JoinError("timeout", channel, f"{conn.network.name} did not answer the JOIN of {channel}.") from None
        finally:
            if not conn._replies.waiting(JOINED, folded):
                self._join_keys.pop(folded, None)

    async def part(self, channel: str, reason: str | None) -> None:
        conn = self._conn
        folded = conn.server.fold(channel)
        self._wanted.pop(folded, None)
        if not self.is_joined(channel) or not conn.connected:
            self._leave(channel)
            return
        text = one_line(reason) if reason else ""
        line = build_line("PART", channel, trailing=text) if text else build_line("PART", channel)
        try:
            with contextlib.suppress(TimeoutError, Refusal):  # unanswered or disconnected: we are out either way
                await conn._replies.request(PARTED, lambda: conn._queue.put(line), PART_TIMEOUT, folded)
        finally:
            self._leave(channel)

    async def rejoin(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Join again what we were in: (rejoined, [(lost, why)]). A channel that refuses us is no longer wanted."""
        wanted = list(self._wanted.values())
        results = await asyncio.gather(*(self._join(name, key) for name, key in wanted), return_exceptions=True)
        rejoined: list[str] = []
        lost: list[tuple[str, str]] = []
        for (name, _key), result in zip(wanted, results, strict=True):
            if isinstance(result, Channel):
                rejoined.append(name)
            elif isinstance(result, JoinError) and result.kind not in ("disconnected", "timeout"):
                self._wanted.pop(self._conn.server.fold(name), None)
                lost.append((name, result.text))
            elif isinstance(result, BaseException):
                lost.append((name, str(result)))
        return rejoined, lost

    # -- joins, parts, names ----------------------------------------------------------------------------------

    async def on_join(self, line: Line) -> None:
        conn = self._conn
        name = line.param(0)
        nick = line.nick or ""
        user, host = line.user_host
        account = line.tags.get("account")
        if conn.same(nick, conn.nick):
            if user and host:
                conn.user, conn.host = user, host
            conn.directory.enter(name, conn)
            folded = conn.server.fold(name)
            self._wanted.setdefault(folded, (name, self._join_keys.pop(folded, None)))
            await conn._emit(conn.events.on_join(JoinEvent(name, nick, True, user, host, conn.account)))
            return
        channel = self.channel(name)
        if channel is None or not self._writes(name):
            return
        channel.add(Member(nick, user=user, host=host, account=account))
        event = JoinEvent(channel.name, nick, False, user, host, account)
        await self._fan(channel.name, nick, "on_join", event)

    async def on_353(self, line: Line) -> None:  # RPL_NAMREPLY
        server = self._conn.server
        name = line.param(2)
        if not self.is_joined(name) or not self._writes(name):
            return
        entries = self._names.setdefault(server.fold(name), [])
        for entry in words(line.param(3)):
            modes, nick = server.prefixes.split_name(entry)
            user = host = None
            if "!" in entry:
                user, _, host = entry.split("!", 1)[1].partition("@")
            entries.append(Member(nick, frozenset(modes), user or None, host or None))

    async def on_366(self, line: Line) -> None:  # RPL_ENDOFNAMES
        conn = self._conn
        name = line.param(1)
        folded = conn.server.fold(name)
        channel = self.channel(name)
        members = self._names.pop(folded, None)
        if channel is None:
            return
        if members is not None and self._writes(name):
            before = {conn.server.fold(m.nick): m for m in channel.members.values()}
            channel.replace_members(members)
            # After a hand-over every connection in the channel learns what changed. After our own join, only
            # the others: those that joined at the same moment answered their join with the list as it was.
            own_join = conn._replies.waiting(JOINED, folded)
            await self._names_changed(channel, before, skip=conn if own_join else None)
        await conn._emit(conn.events.on_names(NamesEvent(channel.name, tuple(channel.snapshot()))))
        conn._replies.resolve(JOINED, channel, folded)

    async def _names_changed(self, channel: Channel, before: dict[str, Member], skip: IrcConnection | None) -> None:
        """What a NAMES read found that the lines had not said: joins, parts and mode changes."""
        fold = self._conn.server.fold
        now = {fold(m.nick): m for m in channel.members.values()}
        for key in now.keys() - before.keys():
            joined = JoinEvent(channel.name, now[key].nick)
            await self._fan(channel.name, now[key].nick, "on_join", joined, skip)
        for key in before.keys() - now.keys():
            parted = PartEvent(channel.name, before[key].nick)
            await self._fan(channel.name, before[key].nick, "on_part", parted, skip)
        changes = tuple(MemberModeChange(now[key].nick, mode, mode in now[key].modes)
                        for key in now.keys() & before.keys() for mode in now[key].modes ^ before[key].modes)
        if changes:
            event = ModeEvent(channel.name, "", "", (), changes)
            await self._fan(channel.name, None, "on_mode", event, skip)

    async def on_join_refused(self, line: Line) -> None:  # the numerics with the channel as second parameter
        conn = self._conn
        name = line.param(1)
        text = line.param(-1)
        kind = _JOIN_ERRORS.get(line.command, "other")
        if not conn._replies.fail(JOINED, JoinError(kind, name, f"{name}: {text}"), conn.server.fold(name)):
            await conn._emit(conn.events.on_error(ErrorEvent(f"{name}: {text}", line.command, name)))

    async def on_part(self, line: Line) -> None:
        conn = self._conn
        name, nick = line.param(0), line.nick or ""
        reason = line.param(1) or None
        if conn.same(nick, conn.nick):
            channel = self.channel(name)
            self._leave(name)
            folded = conn.server.fold(name)
            self._wanted.pop(folded, None)
            conn._replies.resolve(PARTED, None, folded)
            await conn._emit(conn.events.on_part(PartEvent(channel.name if channel else name, nick, reason, True)))
            return
        channel = self.channel(name)
        if channel is not None and self._writes(name) and channel.remove(nick) is not None:
            event = PartEvent(channel.name, nick, reason)
            await self._fan(channel.name, nick, "on_part", event)

    async def on_kick(self, line: Line) -> None:
        conn = self._conn
        name, nick, by = line.param(0), line.param(1), line.nick or ""
        reason = line.param(2) or None
        channel = self.channel(name)
        if channel is None:
            return
        if conn.same(nick, conn.nick):
            self._leave(name)
            self._wanted.pop(conn.server.fold(name), None)
            await conn._emit(conn.events.on_kick(KickEvent(channel.name, nick, by, reason, True)))
            return
        if self._writes(name):
            channel.remove(nick)
            event = KickEvent(channel.name, nick, by, reason)
            await self._fan(channel.name, nick, "on_kick", event)

    async def on_quit(self, line: Line) -> None:
        conn = self._conn
        nick = line.nick or ""
        if conn.same(nick, conn.nick):
            return
        reason = line.param(0) or None
        # Every connection that read the line hears of it (contacts); channels come from their writers.
        per_holder: dict[IrcConnection, list[str]] = {conn: []}
        for channel in self._written():
            if channel.remove(nick) is not None:
                for holder in conn.directory.holders(channel.name):
                    per_holder.setdefault(holder, []).append(channel.name)
        for holder, names in per_holder.items():
            if holder.same(nick, holder.nick):
                continue  # that user's own connection dropped: it tells its user itself
            if names or holder is conn:
                event = QuitEvent(nick, reason, tuple(names))
                await holder._emit(holder.events.on_quit(event))

    async def on_nick(self, line: Line) -> None:
        conn = self._conn
        old, new = line.nick or "", line.param(0)
        per_holder: dict[IrcConnection, list[str]] = {}
        for channel in self._written():
            if channel.rename(old, new):
                for holder in conn.directory.holders(channel.name):
                    if not (holder.same(holder.nick, old) or holder.same(holder.nick, new)):
                        per_holder.setdefault(holder, []).append(channel.name)
        if conn.same(old, conn.nick):
            conn.nick = new
            asked = conn._replies.resolve(NICK_CHANGED, new)
            await conn._own_nick(old, new, "changed" if asked else "server")
        else:
            per_holder.setdefault(conn, [])
        for holder, names in per_holder.items():
            event = NickEvent(old, new, tuple(names))
            await holder._emit(holder.events.on_nick(event))

    # -- modes and topics -------------------------------------------------------------------------------------

    async def on_mode(self, line: Line) -> None:
        server = self._conn.server
        target = line.param(0)
        channel = self.channel(target)
        if channel is None or not self._writes(target):
            return
        changes = member_mode_changes(line.params[1:], server.prefixes, server.chanmodes)
        for change in changes:
            channel.set_mode(change.nick, change.mode, change.added)
        event = ModeEvent(channel.name, line.nick or "", line.param(1), line.params[2:], tuple(changes))
        await self._fan(channel.name, None, "on_mode", event)

    async def on_topic(self, line: Line) -> None:
        channel = self.channel(line.param(0))
        if channel is None or not self._writes(channel.name):
            return
        channel.topic, channel.topic_by, channel.topic_time = line.param(1), line.nick, line.server_time
        event = TopicEvent(channel.name, line.param(1), line.nick, True, line.server_time)
        await self._fan(channel.name, None, "on_topic", event)

    async def on_332(self, line: Line) -> None:  # RPL_TOPIC
        channel = self.channel(line.param(1))
        if channel is None:
            return
        channel.topic = line.param(2)
        await self._conn._emit(self._conn.events.on_topic(TopicEvent(channel.name, channel.topic, None, False)))

    async def on_333(self, line: Line) -> None:  # RPL_TOPICWHOTIME
        channel = self.channel(line.param(1))
        if channel is not None:
            channel.topic_by = line.param(2).split("!", 1)[0] or None

    # -- members: away, account, host -------------------------------------------------------------------------

    async def on_away(self, line: Line) -> None:
        nick = line.nick or ""
        message = line.param(0) or None
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.away = message
        await self._conn._emit(self._conn.events.on_away(AwayEvent(nick, message)))

    async def on_301(self, line: Line) -> None:  # RPL_AWAY, after a message to an away user
        await self._conn._emit(self._conn.events.on_away(AwayEvent(line.param(1), line.param(2) or "away")))

    async def on_account(self, line: Line) -> None:
        nick = line.nick or ""
        account = None if line.param(0) in ("*", "") else line.param(0)
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.account = account
        await self._conn._emit(self._conn.events.on_account(AccountEvent(nick, account)))

    async def on_chghost(self, line: Line) -> None:
        conn = self._conn
        nick, user, host = line.nick or "", line.param(0), line.param(1)
        if conn.same(nick, conn.nick):
            conn.user, conn.host = user, host
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.user, member.host = user, host
        await conn._emit(conn.events.on_chghost(ChghostEvent(nick, user, host)))

    HANDLERS: ClassVar[dict[str, Callable[[Membership, Line], Awaitable[None]]]] = {
        "JOIN": on_join,
        "353": on_353,
        "366": on_366,
        # 437 (nick or channel unavailable) is sorted out by the connection.
        **dict.fromkeys(("403", "405", "470", "471", "473", "474", "475", "476", "477", "479", "489"), on_join_refused),
        "PART": on_part,
        "KICK": on_kick,
        "QUIT": on_quit,
        "NICK": on_nick,
        "MODE": on_mode,
        "TOPIC": on_topic,
        "332": on_332,
        "333": on_333,
        "AWAY": on_away,
        "301": on_301,
        "ACCOUNT": on_account,
        "CHGHOST": on_chghost,
    }
