"""One IRC connection for one (XMPP bare JID, network): registration, IRCv3, liveness, reconnection, channels.

`IrcConnection` connects (TLS with certificate verification unless the network says otherwise), negotiates IRCv3
capabilities (`CAP LS 302`), logs in with SASL PLAIN or a server password, identifies to NickServ before any join
when asked, and then keeps the user on the network: it PINGs an idle server and reconnects when no reply comes,
and after any disconnect it reconnects with capped exponential backoff, rejoins every channel (with its key) and
reports `reconnected`. Everything it learns is reported through `IrcEvents` (events.py).

Why not `irc.client_aio`: its `AioConnection.connect` sends PASS/NICK/USER itself the moment the socket opens and
its `send_raw` writes straight to the transport. We need CAP LS before NICK/USER (else a fast server such as ngircd
completes registration before CAP is seen and SASL is impossible), the AUTHENTICATE exchange in between, and every
line - registration included - to pass through our `FloodQueue`, none of which its reactor lets us place. So this
is a small asyncio client of our own on asyncio streams, built on the building blocks: `lines` builds, splits,
checks and decodes lines, `flood` paces them, `addressing` and `channel` hold names and state, `wire` parses.

Safety: every line is built by `lines.build_line` / `privmsg_lines` (or checked by `send_raw`) and encoded by
`lines.encode_line`, which refuses CR, LF and NUL: nothing reaches the socket except whole lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any

from gateway import __version__
from gateway.core.events import Refusal
from gateway.core.pacing import TokenBucket
from gateway.core.tasks import TaskSet
from gateway.transports.irc.addressing import check_channel, check_nick, check_target
from gateway.transports.irc.channel import Channel, ChannelDirectory, Member, ServerInfo
from gateway.transports.irc.errors import ConnectError, JoinError, JoinErrorKind, NickError, NotConnected, disconnected
from gateway.transports.irc.events import (
    AccountEvent,
    AwayEvent,
    ChghostEvent,
    DisconnectedEvent,
    ErrorEvent,
    IrcEvents,
    JoinEvent,
    KickEvent,
    MessageEvent,
    ModeEvent,
    NamesEvent,
    NickEvent,
    OwnNickEvent,
    OwnNickReason,
    PartEvent,
    QuitEvent,
    ReconnectedEvent,
    TopicEvent,
)
from gateway.transports.irc.flood import Clock
from gateway.transports.irc.lines import (
    CTCP,
    OutgoingMessage,
    UnsafeParameter,
    build_line,
    check_param,
    check_trailing,
    ctcp_action,
    encode_line,
    one_line,
    privmsg_lines,
)
from gateway.transports.irc.link import IrcLink
from gateway.transports.irc.modes import MemberModeChange, member_mode_changes
from gateway.transports.irc.registration import NICK_CHANGED, REGISTERED, WANTED_CAPS, IrcIdentity, Registration
from gateway.transports.irc.replies import Replies, Reply
from gateway.transports.irc.settings import IrcNetwork, IrcSettings
from gateway.transports.irc.wire import Line, words

__all__ = [
    "CTCP_REPLIES", "WANTED_CAPS", "ChannelListing", "ChannelPage", "ConnectError", "IrcConnection", "IrcIdentity",
    "JoinError", "NickError", "NotConnected",
]

log = logging.getLogger(__name__)

_READ_LIMIT = 1 << 16
_RAW_COMMAND = re.compile(r"^(?:[A-Za-z]+|[0-9]{3})$")
_JOIN_ERRORS: dict[str, JoinErrorKind] = {"474": "banned", "473": "invite-only", "475": "bad-key", "471": "full"}
CTCP_REPLIES, CTCP_WINDOW = 3, 10.0  # at most 3 CTCP replies per 10 s per connection

# What the server's answers resolve (replies.py), and what their waiters get when the link drops.
JOINED: Reply[Channel] = Reply(
    "joined", lambda channel, reason: JoinError("disconnected", channel, disconnected(reason))
)
PARTED: Reply[None] = Reply("parted", lambda _key, reason: NotConnected(disconnected(reason)))


@dataclass(frozen=True)
class ChannelListing:
    name: str
    users: int
    topic: str


@dataclass(frozen=True)
class ChannelPage:
    """One page of a LIST, ordered by folded channel name (stable for `after` paging, XEP-0059 style)."""

    items: tuple[ChannelListing, ...]
    total: int
    first: str | None
    last: str | None


LISTED: Reply[list[ChannelListing]] = Reply("list", lambda _key, reason: NotConnected(disconnected(reason)))


class IrcConnection:
    """One user's connection to one network. See the module docstring; the events are in events.py."""

    # One per user and network: slots keep each connection's own state small.
    __slots__ = (
        "_ctcp_replies", "_established", "_join_keys", "_joined", "_link", "_list_cache", "_list_items", "_names",
        "_queue", "_registration", "_replies", "_tasks", "_wanted", "account", "away", "caps", "connect_timeout",
        "directory", "events", "host", "identity", "join_timeout", "list_cache_seconds", "network", "nick", "owner",
        "realname", "reconnect_min_delay", "server", "settings", "user", "username", "wanted_nick",
    )

    def __init__(
        self,
        owner: str,
        network: IrcNetwork,
        settings: IrcSettings,
        identity: IrcIdentity,
        events: IrcEvents,
        *,
        ssl_context: ssl.SSLContext | None = None,
        reconnect_min_delay: float = 1.0,
        connect_timeout: float = 20.0,
        join_timeout: float = 30.0,
        list_cache_seconds: float = 300.0,
        clock: Clock | None = None,
        directory: ChannelDirectory[IrcConnection] | None = None,
    ) -> None:
        check_nick(identity.nick)
        self.owner = owner
        self.network = network
        self.settings = settings
        self.identity = identity
        self.events = events
        self.username = identity.username or settings.username
        self.realname = identity.realname or settings.realname
        check_param(self.username, "username")
        check_trailing(self.realname, "real name")
        self.reconnect_min_delay = reconnect_min_delay
        self.connect_timeout = connect_timeout
        self.join_timeout = join_timeout
        self.list_cache_seconds = list_cache_seconds

        self.wanted_nick = identity.nick
        self.nick = identity.nick
        self.user: str | None = None  # our user@host as the server shows it, for the real prefix length
        self.host: str | None = None
        self.account: str | None = None
        self.server = ServerInfo()
        self.caps: frozenset[str] = frozenset()
        # The network's channels, shared with the other local users' connections (channel.py); ours by folded name.
        self.directory: ChannelDirectory[IrcConnection] = directory if directory is not None else ChannelDirectory()
        self._joined: dict[str, str] = {}
        self.away: str | None = None

        self._link = IrcLink(self, ssl_context, clock)
        self._queue = self._link.queue  # every line goes through it, paced (flood.py)
        self._established = False
        self._tasks = TaskSet(log)  # work started from a line handler that must not hold up reading

        self._replies = Replies()  # requests waiting for the server's answer; all fail when the link drops
        self._registration = Registration(self)

        # Per link, reset by _open.
        self._names: dict[str, list[Member]] = {}
        self._ctcp_replies = TokenBucket(CTCP_REPLIES / CTCP_WINDOW, CTCP_REPLIES)

        # Channels: what the user wants to be in (kept across reconnects), with keys.
        self._wanted: dict[str, tuple[str, str | None]] = {}
        self._join_keys: dict[str, str | None] = {}  # the key of each JOIN awaiting the server's answer
        self._list_items: list[ChannelListing] = []
        self._list_cache: tuple[float, list[ChannelListing]] | None = None

    # -- state ------------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Registered on the network and serving (False while reconnecting)."""
        return self._established

    @property
    def closed(self) -> bool:
        return self._link.closing

    @property
    def max_line_bytes(self) -> int:
        return self.server.linelen or self.network.max_line_bytes

    def same(self, a: str, b: str) -> bool:
        """Equal names under the network's CASEMAPPING."""
        return self.server.fold(a) == self.server.fold(b)

    def channel(self, name: str) -> Channel | None:
        """A channel we are in (its shared state)."""
        return self.directory.get(name) if self.server.fold(name) in self._joined else None

    @property
    def channels(self) -> list[Channel]:
        """The channels we are in."""
        return [c for name in self._joined.values() if (c := self.directory.get(name)) is not None]

    def channels_with(self, nick: str) -> list[Channel]:
        """Our channels that `nick` is in."""
        return [channel for channel in self.channels if nick in channel]

    def _writes(self, name: str) -> bool:
        """Whether this connection applies the lines about that channel (see channel.py)."""
        return self.directory.writer(name) is self

    def _written(self) -> list[Channel]:
        return [c for c in self.channels if self._writes(c.name)]

    def _enter(self, name: str) -> Channel:
        self._joined[self.server.fold(name)] = name
        return self.directory.enter(name, self)

    def _leave(self, name: str) -> None:
        self._joined.pop(self.server.fold(name), None)
        successor = self.directory.leave(name, self)
        if successor is not None:
            successor._tasks.spawn(successor._take_over(name))

    def _leave_all(self) -> None:
        for name in list(self._joined.values()):
            self._leave(name)

    async def _take_over(self, name: str) -> None:
        """We became the channel's writer: NAMES again, so that what the last writer applied and we did not is
        corrected (see _on_366)."""
        if not self._established or not self._writes(name):
            return
        with contextlib.suppress(ConnectionError, OSError, Refusal):
            await self._queue.put(build_line("NAMES", name))

    async def _fan(self, name: str, about: str | None, callback: str, event: object,
                   skip: IrcConnection | None = None) -> None:
        """An event about a channel (`callback` of IrcEvents), to every connection in it (but `skip`), except the
        one it is about (`about`, a nick): that one reports its own joins, parts and nick changes itself."""
        for holder in self.directory.holders(name):
            if holder is not skip and (about is None or not holder.same(about, holder.nick)):
                await holder._emit(getattr(holder.events, callback)(event))

    @property
    def wanted_channels(self) -> dict[str, str | None]:
        """The channels the user is in (or will be again after a reconnect), with their keys."""
        return dict(self._wanted.values())

    def is_joined(self, name: str) -> bool:
        return self.server.fold(name) in self._joined

    # -- connecting -------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection and register; ConnectError with the reason if that fails (no retry here).

        Once connected, losing the connection leads to reconnects until `quit()`.
        """
        if self._established:
            return
        self._link.closing = False
        await self._open()

    async def _open(self) -> None:
        """A new link, registered; ConnectError with the reason when either fails."""
        reader = await self._link.open()
        gen = self._link.gen
        registered, _ = self._replies.expect(REGISTERED)
        self.caps = frozenset()
        self.server = ServerInfo()
        self._leave_all()
        self.account = None
        self.nick = self.wanted_nick
        self._names = {}
        lines = self._registration.begin()
        self._link.start(reader)
        try:
            await self._queue.put_all(lines)
            await self._replies.wait(REGISTERED, registered, self.connect_timeout)
        except BaseException as exc:
            reason = str(exc.text) if isinstance(exc, Refusal) else "registration failed"
            if isinstance(exc, TimeoutError):
                where = f"{self.network.host}:{self.network.effective_port}"
                reason = f"{where} did not complete the IRC registration within {self.connect_timeout:g} s."
            self._link.abort(reason)
            await self._link_down(gen, reason)
            if isinstance(exc, ConnectError) or not isinstance(exc, Exception):
                raise
            raise ConnectError(reason) from exc
        self._established = True
        self._registration.done()
        self._link.watch()
        log.info("%s connected to %s as %s (caps: %s)", self.owner, self.network.name, self.nick, sorted(self.caps))

    # -- the link ---------------------------------------------------------------------------------------------

    def _abort(self, reason: str) -> None:
        """Drop the socket now; the loss is then reported with this reason."""
        self._link.abort(reason)

    async def _link_down(self, gen: int, reason: str) -> None:
        """Link generation `gen` was lost: every pending request fails, the channels are left, and an established
        connection reports it and reconnects (unless closing)."""
        if not self._link.drop(gen):
            return
        was_established = self._established
        self._established = False
        self._replies.fail_all(reason)
        self._join_keys.clear()
        await self._queue.stop(reason)
        self._leave_all()
        if not was_established:
            return
        reconnecting = not self._link.closing
        log.info("%s lost %s: %s (reconnecting: %s)", self.owner, self.network.name, reason, reconnecting)
        await self._emit(self.events.on_disconnected(DisconnectedEvent(reason, reconnecting)))
        if reconnecting:
            self._link.reconnect()

    async def _restore(self) -> bool:
        """Registered again after a loss: rejoin, be away again if we were, report it. False when the link was lost
        again meanwhile (the reconnect loop goes on)."""
        rejoined, lost = await self._rejoin()
        if not self._established:
            return False
        if self.away is not None:
            await self._queue.put(build_line("AWAY", trailing=self.away))
        await self._emit(self.events.on_reconnected(ReconnectedEvent(tuple(rejoined), tuple(lost))))
        return True

    async def _rejoin(self) -> tuple[list[str], list[tuple[str, str]]]:
        wanted = list(self._wanted.values())
        results = await asyncio.gather(*(self._join(name, key) for name, key in wanted), return_exceptions=True)
        rejoined: list[str] = []
        lost: list[tuple[str, str]] = []
        for (name, _key), result in zip(wanted, results, strict=True):
            if isinstance(result, Channel):
                rejoined.append(name)
            elif isinstance(result, JoinError) and result.kind not in ("disconnected", "timeout"):
                self._wanted.pop(self.server.fold(name), None)
                lost.append((name, result.text))
            elif isinstance(result, BaseException):
                lost.append((name, str(result)))
        return rejoined, lost

    async def quit(self, message: str = "") -> None:
        """Send QUIT (ahead of any queued line) and close; no reconnect follows."""
        await self._link.close(build_line("QUIT", trailing=one_line(message) or "Leaving"))
        self._tasks.cancel()

    # -- events -----------------------------------------------------------------------------------------------

    async def _emit(self, call: Coroutine[Any, Any, None]) -> None:
        try:
            await call
        except Exception:
            log.exception("%s on %s: an event handler failed", self.owner, self.network.name)

    # -- outbound ---------------------------------------------------------------------------------------------

    def _require_connected(self) -> None:
        if self._link.closing:
            raise NotConnected(f"The connection to {self.network.name} is closed.")
        if not self._established:
            raise NotConnected(f"Not connected to {self.network.name} right now (reconnecting); try again shortly.")

    def _check_target(self, target: str) -> str:
        if self.server.is_channel(target):
            return check_channel(target, self.server.chantypes, self.server.channellen)
        return check_target(target, self.server.nicklen)

    async def privmsg(
        self, target: str, body: str, *, action: bool | None = None, notice: bool = False
    ) -> list[OutgoingMessage]:
        """Queue a message body to a channel or nick: one line per body line, long lines split to fit with our
        real prefix. `action=None` reads a leading "/me ". Returns the lines queued (empty if there was no text).

        QueueFull (resource-constraint) if the queue cannot take all the lines: then none was queued.
        """
        return (await self._queue_message(target, body, action=action, notice=notice))[0]

    async def say(self, target: str, body: str) -> asyncio.Future[None] | None:
        """Queue a message like `privmsg`; a future done once its last line is written (None: no text)."""
        messages, written = await self._queue_message(target, body, action=None, notice=False)
        return written if messages else None

    async def _queue_message(self, target: str, body: str, *, action: bool | None, notice: bool
                             ) -> tuple[list[OutgoingMessage], asyncio.Future[None] | None]:
        self._require_connected()
        target = self._check_target(target)
        messages = privmsg_lines(
            target,
            body,
            nick=self.nick,
            max_line_bytes=self.max_line_bytes,
            user=self.user,
            host=self.host,
            command="NOTICE" if notice else "PRIVMSG",
            action=action,
        )
        if not messages:
            return [], None
        written = await self._queue.put_all([message.line for message in messages])
        if "echo-message" not in self.caps and self.events.own_messages:  # else the server's echo reports it
            self._tasks.spawn(self._report_own(written, target, messages, notice))
        return messages, written

    async def action(self, target: str, text: str) -> list[OutgoingMessage]:
        return await self.privmsg(target, text, action=True)

    async def notice(self, target: str, body: str) -> list[OutgoingMessage]:
        return await self.privmsg(target, body, notice=True)

    async def _report_own(
        self, written: Awaitable[None], target: str, messages: list[OutgoingMessage], notice: bool
    ) -> None:
        try:
            await written
        except (ConnectionError, OSError):
            return
        private = not self.server.is_channel(target)
        for message in messages:
            event = MessageEvent(
                self.nick, target, message.text, action=message.action, notice=notice, own=True, private=private,
                user=self.user, host=self.host,
            )  # fmt: skip
            await self._emit(self.events.on_message(event))

    async def join(self, channel: str, key: str | None = None) -> Channel:
        """Join a channel; returns its state once the server has sent the member list.

        JoinError with the kind (banned, invite-only, bad-key, full, other, timeout) and the server's text.
        The channel is then rejoined (with this key) after every reconnect until `part` or a kick.
        """
        self._require_connected()
        channel = check_channel(channel, self.server.chantypes, self.server.channellen)
        if key is not None:
            check_param(key, "channel key")
        state = await self._join(channel, key)
        self._wanted[self.server.fold(channel)] = (state.name, key)
        return state

    async def _join(self, channel: str, key: str | None) -> Channel:
        folded = self.server.fold(channel)
        known = self.channel(channel)
        if known is not None:
            return known
        line = build_line("JOIN", channel, key) if key else build_line("JOIN", channel)

        async def send() -> None:
            self._join_keys[folded] = key
            await self._queue.put(line)

        try:
            return await self._replies.request(JOINED, send, self.join_timeout, folded)
        except TimeoutError:
            raise JoinError("timeout", channel, f"{self.network.name} did not answer the JOIN of {channel}.") from None
        finally:
            if not self._replies.waiting(JOINED, folded):
                self._join_keys.pop(folded, None)

    async def part(self, channel: str, reason: str | None = None) -> None:
        """Leave a channel (and stop rejoining it). Returns when the server confirmed, or after 5 s."""
        folded = self.server.fold(channel)
        self._wanted.pop(folded, None)
        if not self.is_joined(channel) or not self._established:
            self._leave(channel)
            return
        text = one_line(reason) if reason else ""
        line = build_line("PART", channel, trailing=text) if text else build_line("PART", channel)
        try:
            with contextlib.suppress(TimeoutError, Refusal):  # unanswered or disconnected: we are out either way
                await self._replies.request(PARTED, lambda: self._queue.put(line), 5.0, folded)
        finally:
            self._leave(channel)

    async def set_topic(self, channel: str, topic: str) -> None:
        self._require_connected()
        channel = check_channel(channel, self.server.chantypes, self.server.channellen)
        await self._queue.put(build_line("TOPIC", channel, trailing=one_line(topic)))

    async def set_away(self, message: str | None) -> bool:
        """Mark us away (a message) or back (None). Sends nothing and returns False when that is already so."""
        text = one_line(message) if message is not None else None
        if text == "":
            text = "Away"
        if text == self.away:
            return False
        self.away = text
        if self._established:
            await self._queue.put(build_line("AWAY", trailing=text) if text is not None else "AWAY")
        return True

    async def set_nick(self, nick: str) -> bool:
        """Change our nick. Nothing is sent (False) when it is already our nick; NickError if refused."""
        check_nick(nick, self.server.nicklen)
        self.wanted_nick = nick
        if nick == self.nick:
            return False
        if not self._established:
            return True  # used at the next registration
        if self._replies.waiting(NICK_CHANGED):
            raise NickError("A nick change is already under way.")
        line = build_line("NICK", nick)
        try:
            await self._replies.request(NICK_CHANGED, lambda: self._queue.put(line), 10.0)
        except TimeoutError:
            raise NickError(f"{self.network.name} did not answer the nick change.") from None
        return True

    async def send_raw(self, line: str) -> None:
        """A raw line from an admin: one line, no CR/LF/NUL, a command word first; UnsafeParameter otherwise."""
        self._require_connected()
        check_trailing(line, "raw line")
        line = line.strip()
        command = line.split(" ", 1)[0]
        if not _RAW_COMMAND.match(command):
            raise UnsafeParameter(f"{command!r} is no IRC command.")
        encode_line(line, self.max_line_bytes)  # too long: refused here, not in the queue
        await self._queue.put(line)

    async def list_channels(self, *, after: str | None = None, limit: int = 50) -> ChannelPage:
        """A page of the network's channels (IRC LIST), cached for a while; `after` is the last name seen."""
        self._require_connected()
        now = time.monotonic()
        if self._list_cache is not None and now - self._list_cache[0] < self.list_cache_seconds:
            items = self._list_cache[1]
        else:

            async def send() -> None:
                self._list_items = []
                await self._queue.put("LIST")

            try:
                items = await self._replies.request(LISTED, send, 60.0)
            except TimeoutError:
                raise NotConnected(f"{self.network.name} did not finish the channel list.") from None
            items = sorted(items, key=lambda item: self.server.fold(item.name))
            self._list_cache = (time.monotonic(), items)
        start = 0
        if after is not None:
            folded = self.server.fold(after)
            start = next((i for i, item in enumerate(items) if self.server.fold(item.name) > folded), len(items))
        page = tuple(items[start : start + max(1, limit)])
        return ChannelPage(page, len(items), page[0].name if page else None, page[-1].name if page else None)

    async def flush(self) -> None:
        """Wait until every queued line has been written."""
        await self._queue.join()

    # -- inbound ----------------------------------------------------------------------------------------------

    async def _dispatch(self, line: Line) -> None:
        handler = getattr(self, "_on_" + line.command.lower(), None)
        if handler is not None:
            await handler(line)
        elif (registering := Registration.HANDLERS.get(line.command)) is not None:
            await registering(self._registration, line)
        elif line.command.isdigit() and line.command[0] in "45" and len(line.params) >= 2:
            target = line.params[1] if len(line.params) > 2 else None
            await self._emit(self.events.on_error(ErrorEvent(line.params[-1], line.command, target)))

    async def _on_ping(self, line: Line) -> None:
        await self._link.pong(line)

    async def _on_error(self, line: Line) -> None:
        text = line.param(0, "closing link")
        self._link.closed_by_server(text)
        self._registration.failed(f"{self.network.name} refused the connection: {text}")

    async def _on_005(self, line: Line) -> None:
        before = self.server.casemapping
        self.server.load(line.params[1:-1])
        if self.server.casemapping is not before:
            self.directory.rekey(self.server.casemapping)
            self._joined = {self.server.fold(name): name for name in self._joined.values()}

    async def _on_437(self, line: Line) -> None:  # nick or channel temporarily unavailable
        if self.server.is_channel(line.param(1)):
            await self._join_refused(line)
        else:
            await self._registration.on_nick_refused(line)

    async def _own_nick(self, old: str, new: str, reason: OwnNickReason) -> None:
        await self._emit(self.events.on_own_nick(OwnNickEvent(old, new, reason, self.wanted_nick)))

    # messages

    async def _on_privmsg(self, line: Line, notice: bool = False) -> None:
        source = line.nick or ""
        target, text = line.param(0), line.param(1)
        own = bool(source) and self.same(source, self.nick)
        action = False
        if text.startswith(CTCP):
            parsed = ctcp_action(text)
            if parsed is None:  # other CTCP: answered here when it is a query we know, never shown to the user
                if not notice and not own and not self.server.is_channel(target):
                    await self._ctcp_query(source, text)
                return
            action, text = True, parsed
        user, host = line.user_host
        if own and user and host:
            self.user, self.host = user, host
        private = not self.server.is_channel(target.lstrip(self.server.prefixes.symbols))
        event = MessageEvent(
            source, target, text, action=action, notice=notice, time=line.server_time, tags=line.tags, own=own,
            private=private, from_server=line.from_server or line.source is None, user=user, host=host,
        )  # fmt: skip
        if private and notice and source.lower() == "nickserv":
            self._registration.nickserv_notice(text)
        await self._emit(self.events.on_message(event))

    async def _ctcp_query(self, source: str, text: str) -> None:
        """VERSION, PING and TIME get an answer, at most CTCP_REPLIES per CTCP_WINDOW seconds per connection
        (so a flood of queries cannot make us flood); anything else is ignored."""
        command, _, argument = text.strip(CTCP).partition(" ")
        command = command.upper()
        if command == "VERSION":
            answer = f"VERSION xmpp-gateway {__version__} (XMPP to IRC)"
        elif command == "PING":
            answer = f"PING {one_line(argument)}".rstrip()
        elif command == "TIME":
            answer = "TIME " + email.utils.formatdate(usegmt=True)
        else:
            return
        if not self._established or not self._ctcp_replies.take():
            return
        with contextlib.suppress(UnsafeParameter, Refusal, ConnectionError):
            await self._queue.put(build_line("NOTICE", check_nick(source), trailing=f"{CTCP}{answer}{CTCP}"))

    async def _on_notice(self, line: Line) -> None:
        await self._on_privmsg(line, notice=True)

    # channels

    async def _on_join(self, line: Line) -> None:
        name = line.param(0)
        nick = line.nick or ""
        user, host = line.user_host
        account = line.tags.get("account")
        if self.same(nick, self.nick):
            if user and host:
                self.user, self.host = user, host
            self._enter(name)
            folded = self.server.fold(name)
            self._wanted.setdefault(folded, (name, self._join_keys.pop(folded, None)))
            await self._emit(self.events.on_join(JoinEvent(name, nick, True, user, host, self.account)))
            return
        channel = self.channel(name)
        if channel is None or not self._writes(name):
            return
        channel.add(Member(nick, user=user, host=host, account=account))
        event = JoinEvent(channel.name, nick, False, user, host, account)
        await self._fan(channel.name, nick, "on_join", event)

    async def _on_353(self, line: Line) -> None:  # RPL_NAMREPLY
        name = line.param(2)
        if not self.is_joined(name) or not self._writes(name):
            return
        entries = self._names.setdefault(self.server.fold(name), [])
        for entry in words(line.param(3)):
            modes, nick = self.server.prefixes.split_name(entry)
            user = host = None
            if "!" in entry:
                user, _, host = entry.split("!", 1)[1].partition("@")
            entries.append(Member(nick, frozenset(modes), user or None, host or None))

    async def _on_366(self, line: Line) -> None:  # RPL_ENDOFNAMES
        name = line.param(1)
        folded = self.server.fold(name)
        channel = self.channel(name)
        members = self._names.pop(folded, None)
        if channel is None:
            return
        if members is not None and self._writes(name):
            before = {self.server.fold(m.nick): m for m in channel.members.values()}
            channel.replace_members(members)
            # After a hand-over every connection in the channel learns what changed. After our own join, only
            # the others: those that joined at the same moment answered their join with the list as it was.
            own_join = self._replies.waiting(JOINED, folded)
            await self._names_changed(channel, before, skip=self if own_join else None)
        await self._emit(self.events.on_names(NamesEvent(channel.name, tuple(channel.snapshot()))))
        self._replies.resolve(JOINED, channel, folded)

    async def _names_changed(self, channel: Channel, before: dict[str, Member], skip: IrcConnection | None) -> None:
        """What a NAMES read found that the lines had not said: joins, parts and mode changes."""
        now = {self.server.fold(m.nick): m for m in channel.members.values()}
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

    async def _join_refused(self, line: Line) -> None:
        name = line.param(1)
        text = line.param(-1)
        kind = _JOIN_ERRORS.get(line.command, "other")
        if not self._replies.fail(JOINED, JoinError(kind, name, f"{name}: {text}"), self.server.fold(name)):
            await self._emit(self.events.on_error(ErrorEvent(f"{name}: {text}", line.command, name)))

    _on_403 = _on_405 = _on_470 = _on_471 = _on_473 = _on_474 = _on_475 = _join_refused
    _on_476 = _on_477 = _on_479 = _on_489 = _join_refused

    async def _on_part(self, line: Line) -> None:
        name, nick = line.param(0), line.nick or ""
        reason = line.param(1) or None
        if self.same(nick, self.nick):
            channel = self.channel(name)
            self._leave(name)
            folded = self.server.fold(name)
            self._wanted.pop(folded, None)
            self._replies.resolve(PARTED, None, folded)
            await self._emit(self.events.on_part(PartEvent(channel.name if channel else name, nick, reason, True)))
            return
        channel = self.channel(name)
        if channel is not None and self._writes(name) and channel.remove(nick) is not None:
            event = PartEvent(channel.name, nick, reason)
            await self._fan(channel.name, nick, "on_part", event)

    async def _on_kick(self, line: Line) -> None:
        name, nick, by = line.param(0), line.param(1), line.nick or ""
        reason = line.param(2) or None
        channel = self.channel(name)
        if channel is None:
            return
        if self.same(nick, self.nick):
            self._leave(name)
            self._wanted.pop(self.server.fold(name), None)
            await self._emit(self.events.on_kick(KickEvent(channel.name, nick, by, reason, True)))
            return
        if self._writes(name):
            channel.remove(nick)
            event = KickEvent(channel.name, nick, by, reason)
            await self._fan(channel.name, nick, "on_kick", event)

    async def _on_quit(self, line: Line) -> None:
        nick = line.nick or ""
        if self.same(nick, self.nick):
            return
        reason = line.param(0) or None
        # Every connection that read the line hears of it (contacts); channels come from their writers.
        per_holder: dict[IrcConnection, list[str]] = {self: []}
        for channel in self._written():
            if channel.remove(nick) is not None:
                for holder in self.directory.holders(channel.name):
                    per_holder.setdefault(holder, []).append(channel.name)
        for holder, names in per_holder.items():
            if holder.same(nick, holder.nick):
                continue  # that user's own connection dropped: it tells its user itself
            if names or holder is self:
                event = QuitEvent(nick, reason, tuple(names))
                await holder._emit(holder.events.on_quit(event))

    async def _on_nick(self, line: Line) -> None:
        old, new = line.nick or "", line.param(0)
        per_holder: dict[IrcConnection, list[str]] = {}
        for channel in self._written():
            if channel.rename(old, new):
                for holder in self.directory.holders(channel.name):
                    if not (holder.same(holder.nick, old) or holder.same(holder.nick, new)):
                        per_holder.setdefault(holder, []).append(channel.name)
        if self.same(old, self.nick):
            self.nick = new
            asked = self._replies.resolve(NICK_CHANGED, new)
            await self._own_nick(old, new, "changed" if asked else "server")
        else:
            per_holder.setdefault(self, [])
        for holder, names in per_holder.items():
            event = NickEvent(old, new, tuple(names))
            await holder._emit(holder.events.on_nick(event))

    async def _on_mode(self, line: Line) -> None:
        target = line.param(0)
        channel = self.channel(target)
        if channel is None or not self._writes(target):
            return
        changes = member_mode_changes(line.params[1:], self.server.prefixes, self.server.chanmodes)
        for change in changes:
            channel.set_mode(change.nick, change.mode, change.added)
        event = ModeEvent(channel.name, line.nick or "", line.param(1), line.params[2:], tuple(changes))
        await self._fan(channel.name, None, "on_mode", event)

    async def _on_topic(self, line: Line) -> None:
        channel = self.channel(line.param(0))
        if channel is None or not self._writes(channel.name):
            return
        channel.topic, channel.topic_by, channel.topic_time = line.param(1), line.nick, line.server_time
        event = TopicEvent(channel.name, line.param(1), line.nick, True, line.server_time)
        await self._fan(channel.name, None, "on_topic", event)

    async def _on_332(self, line: Line) -> None:  # RPL_TOPIC
        channel = self.channel(line.param(1))
        if channel is None:
            return
        channel.topic = line.param(2)
        await self._emit(self.events.on_topic(TopicEvent(channel.name, channel.topic, None, False)))

    async def _on_333(self, line: Line) -> None:  # RPL_TOPICWHOTIME
        channel = self.channel(line.param(1))
        if channel is not None:
            channel.topic_by = line.param(2).split("!", 1)[0] or None

    # users

    async def _on_away(self, line: Line) -> None:
        nick = line.nick or ""
        message = line.param(0) or None
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.away = message
        await self._emit(self.events.on_away(AwayEvent(nick, message)))

    async def _on_301(self, line: Line) -> None:  # RPL_AWAY, after a message to an away user
        await self._emit(self.events.on_away(AwayEvent(line.param(1), line.param(2) or "away")))

    async def _on_account(self, line: Line) -> None:
        nick = line.nick or ""
        account = None if line.param(0) in ("*", "") else line.param(0)
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.account = account
        await self._emit(self.events.on_account(AccountEvent(nick, account)))

    async def _on_chghost(self, line: Line) -> None:
        nick, user, host = line.nick or "", line.param(0), line.param(1)
        if self.same(nick, self.nick):
            self.user, self.host = user, host
        for channel in self.channels_with(nick):
            member = channel.member(nick)
            if member is not None:
                member.user, member.host = user, host
        await self._emit(self.events.on_chghost(ChghostEvent(nick, user, host)))

    # LIST

    async def _on_322(self, line: Line) -> None:  # RPL_LIST
        users = line.param(2)
        self._list_items.append(ChannelListing(line.param(1), int(users) if users.isdigit() else 0, line.param(3)))

    async def _on_323(self, line: Line) -> None:  # RPL_LISTEND
        self._replies.resolve(LISTED, self._list_items)
        self._list_items = []

    async def _on_263(self, line: Line) -> None:  # RPL_TRYAGAIN
        self._replies.fail(LISTED, NotConnected(f"{self.network.name}: {line.param(-1)}"))



