"""What one user's traffic to one IRC network needs, in one object: `IrcUserSession`.

The registry (`IrcSessions`, session.py) creates it on first use and drops it whole when the connection closes for
good (the grace period after the last channel, the user leaving the gateway, the network being removed), so nothing
learned for a user outlives them in a dict keyed by their JID.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gateway.transports.irc.connection import IrcConnection


@dataclass(eq=False)
class IrcUserSession:
    """One user on one network: the connection and what the gateway learned through it."""

    owner: str  # bare JID
    network: str
    # The nick asked for at the first join: the identity's fallback when the user stored none.
    nick: str | None = None
    connection: IrcConnection | None = None
    opening: asyncio.Task[IrcConnection] | None = None
    idle_timer: asyncio.TimerHandle | None = None  # the grace period before QUIT, while no channel is joined
    # IRC users whose presence the user sees (after a private message either way), by folded nick.
    contacts: set[str] = field(default_factory=set)
    # In-room private conversations: a reply from that folded nick goes to room/nick, not to nick%network.
    pm_rooms: dict[str, str] = field(default_factory=dict)
    # Channels (folded) the user stays in, always on, with no resource in their rooms.
    detached: set[str] = field(default_factory=set)

    @property
    def idle(self) -> bool:
        """Nothing open and nothing being opened: the session may go."""
        return self.connection is None and (self.opening is None or self.opening.done())

    def attach(self, connection: IrcConnection) -> None:
        """A new connection: what an earlier one learned does not hold on it."""
        if connection is not self.connection:
            self.contacts.clear()
            self.pm_rooms.clear()
        self.connection = connection

    def cancel_idle(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def left_room(self, room: str) -> None:
        """The user left `room`: private conversations begun in it are ordinary ones again."""
        for nick in [nick for nick, pm_room in self.pm_rooms.items() if pm_room == room]:
            del self.pm_rooms[nick]
