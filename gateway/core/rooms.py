"""Group chats (rooms) in transport-neutral terms: what an XMPP user asks of a room, and what a room reports back.

A room is addressed by its foreign address (a JID local part, unescaped, e.g. `#chan%net` on IRC); occupants by
their nick. The XMPP side implements `RoomSink` and calls a `RoomTransport`; neither knows the other's protocol.
Every call names the user (bare JID): one user may be in a room from several resources, which the XMPP side
tracks; a transport sees one membership per user.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from gateway.core.events import InboundMessage, OutboundMessage

Role = Literal["moderator", "participant", "visitor", "none"]
Affiliation = Literal["owner", "admin", "member", "outcast", "none"]
Show = Literal["away", "xa", "dnd", "chat"] | None


@dataclass(frozen=True)
class Occupant:
    nick: str
    role: Role = "participant"
    affiliation: Affiliation = "none"
    show: Show = None
    status: str | None = None  # e.g. the IRC away message


@dataclass(frozen=True)
class RoomState:
    """A room as the user sees it right after joining."""

    room: str  # the room's address (local part, unescaped)
    nick: str  # our nick in it (may differ from the one asked for)
    occupants: tuple[Occupant, ...]  # everyone, ourselves included
    subject: str = ""
    subject_by: str | None = None


@dataclass(frozen=True)
class RoomMessage:
    """A message in a room (or privately from an occupant), from a foreign network to the user."""

    room: str
    nick: str  # the sender, or "" for the room itself (server notices)
    body: str
    timestamp: datetime | None = None
    private: bool = False  # an in-room private message (room/nick)


@dataclass(frozen=True)
class RoomListing:
    """A room a network offers (for disco#items on the network)."""

    room: str  # the room's address (local part, unescaped)
    name: str
    occupants: int
    topic: str = ""


@dataclass(frozen=True)
class RoomPage:
    """One page of a network's rooms; `first` and `last` are opaque cursors (XEP-0059 `after`)."""

    items: tuple[RoomListing, ...]
    total: int
    first: str | None
    last: str | None


class RoomTransport(Protocol):
    """A transport that offers rooms. Each call raises core.events.Refusal with a text when it cannot be done."""

    async def join_room(self, user: str, room: str, nick: str, password: str | None) -> RoomState: ...

    async def leave_room(self, user: str, room: str) -> None: ...

    async def send_room_message(self, user: str, room: str, body: str) -> Awaitable[None] | None:
        """Queue a message to the room; the awaitable, if any, is done once it has really left (for the journal)."""
        ...

    async def send_room_private(self, user: str, room: str, nick: str, body: str) -> None: ...

    async def set_room_subject(self, user: str, room: str, subject: str) -> None: ...

    async def change_room_nick(self, user: str, room: str, nick: str) -> None: ...

    async def set_user_show(self, user: str, room: str, show: Show, status: str | None) -> None:
        """The user's availability (away, back) on the network of `room`."""
        ...

    def room_name(self, room: str) -> str | None:
        """The display name of the room at this address, or None when the address names no room."""
        ...

    def room_archived(self, room: str) -> bool:
        """Whether the room's lines are kept in its archive (an admin may turn that off for some rooms)."""
        ...

    @property
    def history_on_join(self) -> int:
        """Lines of a room's archive a join gets when its client asks for none (XEP-0045 7.2.15); 0: none."""
        ...

    async def list_rooms(self, user: str, service: str, *, after: str | None, limit: int) -> RoomPage | None:
        """A page of the rooms of `service` (an address, e.g. an IRC network) for `user`; None when `service` is no
        room service. Refusal when the list cannot be had (the network cannot be reached...)."""
        ...

    def attach_rooms(self, sink: RoomSink) -> None: ...


class RoomSink(Protocol):
    """The XMPP side of rooms: renders what happens in a room to every resource of the user that is in it."""

    def room_message(self, user: str, message: RoomMessage) -> None: ...

    def subject_changed(self, user: str, room: str, subject: str, by: str | None) -> None: ...

    def occupant_joined(self, user: str, room: str, occupant: Occupant) -> None: ...

    def occupant_changed(self, user: str, room: str, occupant: Occupant) -> None:
        """Role, affiliation or availability changed."""
        ...

    def occupant_left(self, user: str, room: str, nick: str, reason: str | None = None, *,
                      kicked_by: str | None = None) -> None: ...

    def nick_changed(self, user: str, room: str, old: str, new: str) -> None:
        """An occupant (or the user: `old` is their nick) changed nick."""
        ...

    def removed(self, user: str, room: str, reason: str, *, kicked_by: str | None = None) -> None:
        """The user is no longer in the room (kicked, or the network lost it)."""
        ...

    def rejoined(self, user: str, state: RoomState) -> None:
        """The user is back in the room after the network dropped them (a reconnect): show it afresh."""
        ...

    def user_left(self, user: str, reason: str) -> None:
        """The user left the transport (or may no longer use it): out of every room with `reason`, and nothing of
        theirs kept (messages held for a rejoin after a restart fail)."""
        ...

    def contact_presence(self, user: str, peer: str, available: bool, show: Show = None,
                         status: str | None = None) -> None:
        """What is known of a contact on the network (`peer`, its address): online, away (`show`), or gone."""
        ...

    def notice(self, user: str, source: str, text: str) -> None:
        """A text from the network itself (server notices, errors) for the user; `source` is its address."""
        ...


class RoomDelivery(Protocol):
    """The XMPP side of journaled group-chat messages, as the router uses it."""

    def deliver_room(self, message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        """Render a journaled room message (`room_nick` set) to every resource of the user in the room; the future
        resolves once the XMPP server has it. A message an earlier run journaled (`resumed`) waits for a user not
        in the room now until they join it again; a live one finds nobody (they left meanwhile): None."""
        ...

    def resume_room(self, message: OutboundMessage) -> None:
        """A group-chat message an earlier run journaled but did not send: send it (`Router.send_room`) once the
        user is in the room again, or fail it with a text when that cannot be."""
        ...


class InRoomOrder:
    """A RoomSink whose calls are made only after the room messages received before them have been shown.

    Room messages wait for their journal commit (`Router.receive_room`); without this a part, quit, nick change or
    topic that arrived after a message would be shown before it ("bob: bye" after bob left). The arguments are
    taken at once (the state of that moment); only the rendering waits.
    """

    def __init__(self, sink: RoomSink, defer: Callable[[Callable[[], None]], None]) -> None:
        self._sink = sink
        self._defer = defer

    def __getattr__(self, name: str) -> Callable[..., None]:
        method = getattr(self._sink, name)
        return lambda *args, **kwargs: self._defer(functools.partial(method, *args, **kwargs))
