"""Messages on one connection: PRIVMSG and NOTICE out (split to fit, paced) and in, CTCP ACTIONs as `/me`, and
the few CTCP queries we answer (VERSION, PING, TIME), at a limited rate."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from gateway import __version__
from gateway.core.events import Refusal
from gateway.core.pacing import TokenBucket
from gateway.transports.irc.addressing import check_channel, check_nick, check_target
from gateway.transports.irc.events import MessageEvent
from gateway.transports.irc.lines import (
    CTCP,
    OutgoingMessage,
    UnsafeParameter,
    build_line,
    ctcp_action,
    one_line,
    privmsg_lines,
)
from gateway.transports.irc.wire import Line

if TYPE_CHECKING:
    from gateway.transports.irc.connection import IrcConnection

CTCP_REPLIES, CTCP_WINDOW = 3, 10.0  # at most 3 CTCP replies per 10 s per connection


class Messages:
    """One connection's messages; see the module docstring."""

    __slots__ = ("_conn", "_ctcp_replies")

    def __init__(self, conn: IrcConnection) -> None:
        self._conn = conn
        self._ctcp_replies = TokenBucket(CTCP_REPLIES / CTCP_WINDOW, CTCP_REPLIES)

    def _check_target(self, target: str) -> str:
        server = self._conn.server
        if server.is_channel(target):
            return check_channel(target, server.chantypes, server.channellen)
        return check_target(target, server.nicklen)

    async def send(self, target: str, body: str, *, action: bool | None, notice: bool
                   ) -> tuple[list[OutgoingMessage], asyncio.Future[None] | None]:
        """Queue the lines of a message body; (the lines, a future done once the last is written)."""
        conn = self._conn
        target = self._check_target(target)
        messages = privmsg_lines(
            target,
            body,
            nick=conn.nick,
            max_line_bytes=conn.max_line_bytes,
            user=conn.user,
            host=conn.host,
            command="NOTICE" if notice else "PRIVMSG",
            action=action,
        )
        if not messages:
            return [], None
        written = await conn._queue.put_all([message.line for message in messages])
        if "echo-message" not in conn.caps and conn.events.own_messages:  # else the server's echo reports it
            conn._tasks.spawn(self._report_own(written, target, messages, notice))
        return messages, written

    async def _report_own(
        self, written: Awaitable[None], target: str, messages: list[OutgoingMessage], notice: bool
    ) -> None:
        conn = self._conn
        try:
            await written
        except (ConnectionError, OSError):
            return
        private = not conn.server.is_channel(target)
        for message in messages:
            event = MessageEvent(
                conn.nick, target, message.text, action=message.action, notice=notice, own=True, private=private,
                user=conn.user, host=conn.host,
            )  # fmt: skip
            await conn._emit(conn.events.on_message(event))

    async def on_privmsg(self, line: Line, notice: bool = False) -> None:
        conn = self._conn
        source = line.nick or ""
        target, text = line.param(0), line.param(1)
        own = bool(source) and conn.same(source, conn.nick)
        action = False
        if text.startswith(CTCP):
            parsed = ctcp_action(text)
            if parsed is None:  # other CTCP: answered here when it is a query we know, never shown to the user
                if not notice and not own and not conn.server.is_channel(target):
                    await self._ctcp_query(source, text)
                return
            action, text = True, parsed
        user, host = line.user_host
        if own and user and host:
            conn.user, conn.host = user, host
        private = not conn.server.is_channel(target.lstrip(conn.server.prefixes.symbols))
        event = MessageEvent(
            source, target, text, action=action, notice=notice, time=line.server_time, tags=line.tags, own=own,
            private=private, from_server=line.from_server or line.source is None, user=user, host=host,
        )  # fmt: skip
        if private and notice and source.lower() == "nickserv":
            conn._registration.nickserv_notice(text)
        await conn._emit(conn.events.on_message(event))

    async def on_notice(self, line: Line) -> None:
        await self.on_privmsg(line, notice=True)

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
        if not self._conn.connected or not self._ctcp_replies.take():
            return
        with contextlib.suppress(UnsafeParameter, Refusal, ConnectionError):
            line = build_line("NOTICE", check_nick(source), trailing=f"{CTCP}{answer}{CTCP}")
            await self._conn._queue.put(line)

    HANDLERS: ClassVar[dict[str, Callable[[Messages, Line], Awaitable[None]]]] = {
        "PRIVMSG": on_privmsg,
        "NOTICE": on_notice,
    }
