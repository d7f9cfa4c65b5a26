"""One IRC connection for one (XMPP bare JID, network): the facade over the units that keep it.

`IrcConnection` connects (TLS with certificate verification unless the network says otherwise), negotiates IRCv3
capabilities (`CAP LS 302`), logs in with SASL PLAIN or a server password, identifies to NickServ before any join
when asked, and then keeps the user on the network: it PINGs an idle server and reconnects when no reply comes,
and after any disconnect it reconnects with capped exponential backoff, rejoins every channel (with its key) and
reports `reconnected`. Everything it learns is reported through `IrcEvents` (events.py).

The units, each holding its own part of the state:
  link.py          the socket, TLS, reads and writes, liveness (PING/PONG), the reconnect loop
  registration.py  CAP, SASL, NickServ, nick fallback
  membership.py    the channels we are in and want to be in, their members (shared through `ChannelDirectory`)
  messages.py      PRIVMSG/NOTICE in and out, CTCP
  listing.py       LIST, paged
  replies.py       requests waiting for the server's answer, all failed when the link drops
This class keeps what they share (nick, user@host, account, ISUPPORT, caps, the send queue, the events) and the
public interface, and routes each received line to the unit that handles its command.

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
import logging
import re
import ssl
from collections.abc import Coroutine
from typing import Any

from gateway.core.events import Refusal
from gateway.core.tasks import TaskSet
from gateway.transports.irc.addressing import check_channel, check_nick
from gateway.transports.irc.channel import Channel, ChannelDirectory, ServerInfo
from gateway.transports.irc.errors import ConnectError, JoinError, NickError, NotConnected
from gateway.transports.irc.events import (
    DisconnectedEvent,
    ErrorEvent,
    IrcEvents,
    OwnNickEvent,
    OwnNickReason,
    ReconnectedEvent,
)
from gateway.transports.irc.flood import Clock
from gateway.transports.irc.lines import (
    OutgoingMessage,
    UnsafeParameter,
    build_line,
    check_param,
    check_trailing,
    encode_line,
    one_line,
)
from gateway.transports.irc.link import IrcLink
from gateway.transports.irc.listing import ChannelList, ChannelListing, ChannelPage
from gateway.transports.irc.membership import Membership
from gateway.transports.irc.messages import CTCP_REPLIES, Messages
from gateway.transports.irc.registration import NICK_CHANGED, REGISTERED, WANTED_CAPS, IrcIdentity, Registration
from gateway.transports.irc.replies import Replies
from gateway.transports.irc.settings import IrcNetwork, IrcSettings
from gateway.transports.irc.wire import Line

__all__ = [
    "CTCP_REPLIES", "WANTED_CAPS", "ChannelListing", "ChannelPage", "ConnectError", "IrcConnection", "IrcIdentity",
    "JoinError", "NickError", "NotConnected",
]

log = logging.getLogger(__name__)

_RAW_COMMAND = re.compile(r"^(?:[A-Za-z]+|[0-9]{3})$")
NICK_TIMEOUT = 10.0


class IrcConnection:
    """One user's connection to one network. See the module docstring; the events are in events.py."""

    # One per user and network: slots keep each connection's own state small.
    __slots__ = (
        "_established", "_link", "_listing", "_membership", "_messages", "_queue", "_registration", "_replies",
        "_tasks", "account", "away", "caps", "connect_timeout", "directory", "events", "host", "identity",
        "join_timeout", "list_cache_seconds", "network", "nick", "owner", "realname", "reconnect_min_delay", "server",
        "settings", "user", "username", "wanted_nick",
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
        self.away: str | None = None
        # The network's channels, shared with the other local users' connections (channel.py).
        self.directory: ChannelDirectory[IrcConnection] = directory if directory is not None else ChannelDirectory()

        # Shared with the units: the send queue, the pending requests, the tasks a line handler starts.
        self._link = IrcLink(self, ssl_context, clock)
        self._queue = self._link.queue  # every line goes through it, paced (flood.py)
        self._replies = Replies()
        self._tasks = TaskSet(log)  # work started from a line handler that must not hold up reading
        self._established = False
        self._registration = Registration(self)
        self._membership = Membership(self)
        self._messages = Messages(self)
        self._listing = ChannelList(self)

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
        return self._membership.channel(name)

    @property
    def channels(self) -> list[Channel]:
        """The channels we are in."""
        return self._membership.channels()

    def channels_with(self, nick: str) -> list[Channel]:
        """Our channels that `nick` is in."""
        return self._membership.channels_with(nick)

    @property
    def wanted_channels(self) -> dict[str, str | None]:
        """The channels the user is in (or will be again after a reconnect), with their keys."""
        return self._membership.wanted

    def is_joined(self, name: str) -> bool:
        return self._membership.is_joined(name)

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
        self.account = None
        self.nick = self.wanted_nick
        self._membership.new_link()
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
        await self._queue.stop(reason)
        self._membership.link_lost()
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
        rejoined, lost = await self._membership.rejoin()
        if not self._established:
            return False
        if self.away is not None:
            await self._queue.put(build_line("AWAY", trailing=self.away))
        await self._emit(self.events.on_reconnected(ReconnectedEvent(tuple(rejoined), tuple(lost))))
        return True

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

    async def _own_nick(self, old: str, new: str, reason: OwnNickReason) -> None:
        await self._emit(self.events.on_own_nick(OwnNickEvent(old, new, reason, self.wanted_nick)))

    # -- outbound ---------------------------------------------------------------------------------------------

    def _require_connected(self) -> None:
        if self._link.closing:
            raise NotConnected(f"The connection to {self.network.name} is closed.")
        if not self._established:
            raise NotConnected(f"Not connected to {self.network.name} right now (reconnecting); try again shortly.")

    async def privmsg(
        self, target: str, body: str, *, action: bool | None = None, notice: bool = False
    ) -> list[OutgoingMessage]:
        """Queue a message body to a channel or nick: one line per body line, long lines split to fit with our
        real prefix. `action=None` reads a leading "/me ". Returns the lines queued (empty if there was no text).

        QueueFull (resource-constraint) if the queue cannot take all the lines: then none was queued.
        """
        self._require_connected()
        return (await self._messages.send(target, body, action=action, notice=notice))[0]

    async def say(self, target: str, body: str) -> asyncio.Future[None] | None:
        """Queue a message like `privmsg`; a future done once its last line is written (None: no text)."""
        self._require_connected()
        messages, written = await self._messages.send(target, body, action=None, notice=False)
        return written if messages else None

    async def action(self, target: str, text: str) -> list[OutgoingMessage]:
        return await self.privmsg(target, text, action=True)

    async def notice(self, target: str, body: str) -> list[OutgoingMessage]:
        return await self.privmsg(target, body, notice=True)

    async def join(self, channel: str, key: str | None = None) -> Channel:
        """Join a channel; returns its state once the server has sent the member list.

        JoinError with the kind (banned, invite-only, bad-key, full, other, timeout) and the server's text.
        The channel is then rejoined (with this key) after every reconnect until `part` or a kick.
        """
        self._require_connected()
        return await self._membership.join(channel, key)

    async def part(self, channel: str, reason: str | None = None) -> None:
        """Leave a channel (and stop rejoining it). Returns when the server confirmed, or after 5 s."""
        await self._membership.part(channel, reason)

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
            await self._replies.request(NICK_CHANGED, lambda: self._queue.put(line), NICK_TIMEOUT)
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
        return await self._listing.page(after, limit)

    async def flush(self) -> None:
        """Wait until every queued line has been written."""
        await self._queue.join()

    # -- inbound ----------------------------------------------------------------------------------------------

    async def _dispatch(self, line: Line) -> None:
        """A received line, to the unit that handles its command; an unhandled error numeric is reported."""
        command = line.command
        if (handler := _OWN.get(command)) is not None:
            await handler(self, line)
        elif (tracking := Membership.HANDLERS.get(command)) is not None:
            await tracking(self._membership, line)
        elif (messaging := Messages.HANDLERS.get(command)) is not None:
            await messaging(self._messages, line)
        elif (registering := Registration.HANDLERS.get(command)) is not None:
            await registering(self._registration, line)
        elif (listing := ChannelList.HANDLERS.get(command)) is not None:
            await listing(self._listing, line)
        elif command.isdigit() and command[0] in "45" and len(line.params) >= 2:
            target = line.params[1] if len(line.params) > 2 else None
            await self._emit(self.events.on_error(ErrorEvent(line.params[-1], command, target)))

    async def _on_ping(self, line: Line) -> None:
        await self._link.pong(line)

    async def _on_error(self, line: Line) -> None:
        text = line.param(0, "closing link")
        self._link.closed_by_server(text)
        self._registration.failed(f"{self.network.name} refused the connection: {text}")

    async def _on_005(self, line: Line) -> None:  # ISUPPORT
        before = self.server.casemapping
        self.server.load(line.params[1:-1])
        if self.server.casemapping is not before:
            self.directory.rekey(self.server.casemapping)

    async def _on_437(self, line: Line) -> None:  # nick or channel temporarily unavailable
        if self.server.is_channel(line.param(1)):
            await self._membership.on_join_refused(line)
        else:
            await self._registration.on_nick_refused(line)


_OWN = {"PING": IrcConnection._on_ping, "ERROR": IrcConnection._on_error, "005": IrcConnection._on_005,
        "437": IrcConnection._on_437}
