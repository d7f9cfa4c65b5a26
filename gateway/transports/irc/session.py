"""Every user's IRC connections: one `IrcConnection` per (XMPP bare JID, network), shared by all of that user's
resources, opened on first use (a join or a private message), closed with QUIT a grace period after the user's
last channel is left unless connections are persistent. Caps on networks and channels per user refuse with a text.

The manager knows nothing of XMPP: the transport gives it `events_for` (the event handler of one user's
connection), `identity_for` (nick and credentials) and `resolve_network` (the database's networks; by default the
ones in the settings). Member state of channels is shared: one `ChannelDirectory` per network holds one member list
per channel for every local connection in it (see channel.py).
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

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (bare JID, network name)


class IrcSessions:
    """One connection per (bare JID, network); see the module docstring."""

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
        self._connections: dict[Key, IrcConnection] = {}
        self._opening: dict[Key, asyncio.Task[IrcConnection]] = {}
        self._idle_timers: dict[Key, asyncio.TimerHandle] = {}
        self._closing = TaskSet(log)  # idle connections being closed
        self._directories: dict[str, ChannelDirectory[IrcConnection]] = {}

    async def _from_settings(self, name: str) -> IrcNetwork | None:
        return self.settings.network(name)

    @staticmethod
    def _key(owner: str, network: str) -> Key:
        return owner, check_network_name(network)

    def get(self, owner: str, network: str) -> IrcConnection | None:
        """The user's open connection to that network, if any (nothing is opened)."""
        return self._connections.get(self._key(owner, network))

    def open_networks(self) -> set[str]:
        """The networks someone has a connection to (or is opening one to)."""
        return {network for (_, network) in (*self._connections, *self._opening)}

    def owners(self) -> set[str]:
        """Whoever has a connection to some network."""
        return {owner for (owner, _) in self._connections}

    def owners_on(self, network: str) -> list[str]:
        """Whoever has a connection to that network."""
        return [owner for (owner, name) in self._connections if name == network]

    def networks_of(self, owner: str) -> list[str]:
        return [network for (jid, network) in self._connections if jid == owner]

    def channel_count(self, owner: str) -> int:
        """Channels the user is in (or being rejoined to) on every network."""
        return sum(len(c.wanted_channels) for (jid, _), c in self._connections.items() if jid == owner)

    async def connection(self, owner: str, network: str) -> IrcConnection:
        """The user's connection to the network, opened (and registered) if needed.

        Refusal when the network is unknown or the user has reached the networks cap; ConnectError when it cannot
        be opened. A connection without channels is closed after the grace period (unless persistent).
        """
        key = self._key(owner, network)
        connection = self._connections.get(key)
        if connection is None or connection.closed:
            task = self._opening.get(key)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._open(key))
                self._opening[key] = task
                task.add_done_callback(lambda _t: self._opening.pop(key, None))
            connection = await asyncio.shield(task)
        self._arm_idle(key)
        return connection

    async def _open(self, key: Key) -> IrcConnection:
        owner, name = key
        others = [n for n in self.networks_of(owner) if n != name]
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
        self._connections[key] = connection
        return connection

    async def join(self, owner: str, network: str, channel: str, key: str | None = None) -> Channel:
        """Join a channel on the user's connection (opened if needed); the channels cap refuses with a text."""
        connection = await self.connection(owner, network)
        if not connection.is_joined(channel) and self.channel_count(owner) >= self.settings.max_channels_per_user:
            self._arm_idle(self._key(owner, network))
            raise Refusal(
                "policy-violation",
                f"You are in {self.settings.max_channels_per_user} IRC channels, the most this gateway allows;"
                " leave one first.",
            )
        self._cancel_idle(self._key(owner, network))
        try:
            return await connection.join(channel, key)
        finally:
            self._arm_idle(self._key(owner, network))

    async def part(self, owner: str, network: str, channel: str, reason: str | None = None) -> None:
        """Leave a channel; the connection is closed a grace period after its last channel is left."""
        key = self._key(owner, network)
        connection = self._connections.get(key)
        if connection is None:
            return
        await connection.part(channel, reason)
        self._arm_idle(key)

    def released(self, owner: str, network: str) -> None:
        """Tell the manager a channel went away without `part` (a kick): it may start the grace period."""
        self._arm_idle(self._key(owner, network))

    def _cancel_idle(self, key: Key) -> None:
        timer = self._idle_timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _arm_idle(self, key: Key) -> None:
        """(Re)start the grace period if the connection has no channel; cancel it if it has one."""
        self._cancel_idle(key)
        connection = self._connections.get(key)
        if connection is None or self.settings.persistent_connections or connection.wanted_channels:
            return
        loop = asyncio.get_running_loop()
        self._idle_timers[key] = loop.call_later(self.settings.quit_grace_period, self._idle_expired, key)

    def _idle_expired(self, key: Key) -> None:
        self._idle_timers.pop(key, None)
        connection = self._connections.get(key)
        if connection is None or connection.wanted_channels:
            return
        self._closing.spawn(self.close(*key, message="No channels left"))

    async def close(self, owner: str, network: str, message: str = "") -> None:
        """QUIT the user's connection to that network now."""
        key = self._key(owner, network)
        self._cancel_idle(key)
        connection = self._connections.pop(key, None)
        if connection is not None:
            log.info("%s: closing the connection to %s (%s)", owner, network, message or "closed")
            await connection.quit(message)
        name = key[1]
        if not any(n == name for _, n in (*self._connections, *self._opening)):
            self._directories.pop(name, None)  # a server a user named once must not stay for the process's life

    async def close_all(self, message: str = "Gateway shutting down") -> None:
        for task in list(self._opening.values()):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await asyncio.gather(*(self.close(owner, network, message) for owner, network in list(self._connections)))
