"""Every user's IRC connections: one `IrcConnection` per (XMPP bare JID, network), shared by all of that user's
resources, opened on first use (a join or a private message), closed with QUIT a grace period after the user's
last channel is left unless connections are persistent. Caps on networks and channels per user refuse with a text.

The manager knows nothing of XMPP: the transport gives it `events_for` (the event handler of one user's
connection), `identity_for` (nick and credentials) and `resolve_network` (the database's networks; by default the
ones in the settings). Member state of channels is shared: one `ChannelDirectory` per network holds one member list
per channel for every local connection in it (see channel.py).

Everything kept for one (user, network) lives in its `IrcUserSession` (user_session.py), which this registry creates
on first use and drops whole when the connection closes, so nothing of a user outlives their connections here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.core.events import Refusal
from gateway.core.tasks import TaskSet
from gateway.transports.irc.channel import Channel, ChannelDirectory
from gateway.transports.irc.connection import IrcConnection, IrcIdentity
from gateway.transports.irc.events import IrcEvents
from gateway.transports.irc.settings import IrcNetwork, IrcSettings, check_network_name
from gateway.transports.irc.user_session import IrcUserSession

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (bare JID, network name)


class IrcSessions:
    """One `IrcUserSession` (and connection) per (bare JID, network); see the module docstring."""

    def __init__(
        self,
        settings: IrcSettings,
        *,
        events_for: Callable[[str, IrcNetwork], IrcEvents],
        identity_for: Callable[[str, IrcNetwork], Awaitable[IrcIdentity]],
        resolve_network: Callable[[str], Awaitable[IrcNetwork | None]] | None = None,
        connection_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self._events_for = events_for
        self._identity_for = identity_for
        self._resolve = resolve_network or self._from_settings
        self._options = connection_options or {}
        self._sessions: dict[Key, IrcUserSession] = {}
        self._closing = TaskSet(log)  # idle connections being closed
        self._directories: dict[str, ChannelDirectory[IrcConnection]] = {}

    async def _from_settings(self, name: str) -> IrcNetwork | None:
        return self.settings.network(name)

    @staticmethod
    def _key(owner: str, network: str) -> Key:
        return owner, check_network_name(network)

    def find(self, owner: str, network: str) -> IrcUserSession | None:
        """The user's session on that network, if any (nothing is created)."""
        return self._sessions.get(self._key(owner, network))

    def _session(self, key: Key) -> IrcUserSession:
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = IrcUserSession(*key)
        return session

    def _drop_if_idle(self, session: IrcUserSession) -> None:
        """A session whose connection could not be opened goes: a refused join leaves nothing behind."""
        key = (session.owner, session.network)
        if session.idle and self._sessions.get(key) is session:
            session.cancel_idle()
            del self._sessions[key]

    def get(self, owner: str, network: str) -> IrcConnection | None:
        """The user's open connection to that network, if any (nothing is opened)."""
        session = self.find(owner, network)
        return session.connection if session is not None else None

    def _connected(self) -> list[IrcUserSession]:
        return [session for session in self._sessions.values() if session.connection is not None]

    def open_networks(self) -> set[str]:
        """The networks someone has a connection to (or is opening one to)."""
        return {network for (_, network) in self._sessions}

    def owners(self) -> set[str]:
        """Whoever has a connection to some network."""
        return {session.owner for session in self._connected()}

    def owners_on(self, network: str) -> list[str]:
        """Whoever has a connection to that network."""
        return [session.owner for session in self._connected() if session.network == network]

    def networks_of(self, owner: str) -> list[str]:
        """The networks the user has a session on (connected or being connected)."""
        return [network for (jid, network) in self._sessions if jid == owner]

    def channel_count(self, owner: str) -> int:
        """Channels the user is in (or being rejoined to) on every network."""
        return sum(len(session.connection.wanted_channels) for session in self._connected()
                   if session.owner == owner and session.connection is not None)

    async def connection(self, owner: str, network: str) -> IrcConnection:
        """The user's connection to the network, opened (and registered) if needed.

        Refusal when the network is unknown or the user has reached the networks cap; ConnectError when it cannot
        be opened. A connection without channels is closed after the grace period (unless persistent).
        """
        session = self._session(self._key(owner, network))
        connection = session.connection
        if connection is None or connection.closed:
            task = session.opening
            if task is None:
                task = session.opening = asyncio.get_running_loop().create_task(self._open(session))
                task.add_done_callback(lambda done: _opened(session, done))
            try:
                connection = await asyncio.shield(task)
            except BaseException:
                self._drop_if_idle(session)
                raise
        self._arm_idle(session)
        return connection

    async def _open(self, session: IrcUserSession) -> IrcConnection:
        owner, name = session.owner, session.network
        others = [s.network for s in self._connected() if s.owner == owner and s.network != name]
        if len(others) >= self.settings.max_networks_per_user:
            raise Refusal(
                "policy-violation",
                f"You are on {len(others)} IRC networks already ({', '.join(sorted(others))}), the most this gateway"
                f" allows; leave the channels of one first.",
            )
        network = await self._resolve(name)
        if network is None:
            raise Refusal("item-not-found", f"There is no IRC network named {name!r} here.")
        identity = await self._identity_for(owner, network)
        directory = self._directories.setdefault(name, ChannelDirectory())
        connection = IrcConnection(
            owner, network, self.settings, identity, self._events_for(owner, network), directory=directory,
            **self._options,
        )
        await connection.connect()
        if self._sessions.get((owner, name)) is not session:
            # Closed while it was being opened (the user left, the network went): it must not live on unowned.
            await connection.quit("Closed")
            raise Refusal("recipient-unavailable", f"The connection to {name} was closed while it was being opened.")
        session.attach(connection)
        return connection

    async def join(self, owner: str, network: str, channel: str, key: str | None = None, *,
                   nick: str | None = None) -> Channel:
        """Join a channel on the user's connection (opened if needed); the channels cap refuses with a text.

        `nick`, the one asked for, is kept as the user's preference on that network at their first join."""
        session = self._session(self._key(owner, network))
        if session.nick is None:
            session.nick = nick
        connection = await self.connection(owner, network)
        if not connection.is_joined(channel) and self.channel_count(owner) >= self.settings.max_channels_per_user:
            self._arm_idle(session)
            raise Refusal(
                "policy-violation",
                f"You are in {self.settings.max_channels_per_user} IRC channels, the most this gateway allows;"
                " leave one first.",
            )
        session.cancel_idle()
        try:
            return await connection.join(channel, key)
        finally:
            self._arm_idle(session)

    async def part(self, owner: str, network: str, channel: str, reason: str | None = None) -> None:
        """Leave a channel; the connection is closed a grace period after its last channel is left."""
        session = self.find(owner, network)
        if session is None or session.connection is None:
            return
        await session.connection.part(channel, reason)
        self._arm_idle(session)

    def released(self, owner: str, network: str) -> None:
        """Tell the manager a channel went away without `part` (a kick): it may start the grace period."""
        session = self.find(owner, network)
        if session is not None:
            self._arm_idle(session)

    def _arm_idle(self, session: IrcUserSession) -> None:
        """(Re)start the grace period if the connection has no channel; cancel it if it has one."""
        session.cancel_idle()
        connection = session.connection
        if connection is None or self.settings.persistent_connections or connection.wanted_channels:
            return
        loop = asyncio.get_running_loop()
        session.idle_timer = loop.call_later(self.settings.quit_grace_period, self._idle_expired, session)

    def _idle_expired(self, session: IrcUserSession) -> None:
        session.idle_timer = None
        connection = session.connection
        if connection is None or connection.wanted_channels or self.find(session.owner, session.network) is not session:
            return  # back in a channel, or already closed (and maybe opened again: that is another session)
        self._closing.spawn(self.close(session.owner, session.network, message="No channels left"))

    async def close(self, owner: str, network: str, message: str = "") -> None:
        """QUIT the user's connection to that network now; their session there goes with it."""
        key = self._key(owner, network)
        session = self._sessions.pop(key, None)
        if session is not None:
            session.cancel_idle()
            if session.connection is not None:
                log.info("%s: closing the connection to %s (%s)", owner, network, message or "closed")
                await session.connection.quit(message)
        name = key[1]
        if not any(n == name for _, n in self._sessions):
            self._directories.pop(name, None)  # a server a user named once must not stay for the process's life

    async def close_all(self, message: str = "Gateway shutting down") -> None:
        for session in list(self._sessions.values()):
            if session.opening is not None:
                session.opening.cancel()
                with contextlib.suppress(BaseException):
                    await session.opening
        await asyncio.gather(*(self.close(owner, network, message) for owner, network in list(self._sessions)))


def _opened(session: IrcUserSession, task: asyncio.Task[IrcConnection]) -> None:
    if session.opening is task:
        session.opening = None
