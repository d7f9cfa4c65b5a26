"""IRC as a transport: channels are rooms (core.rooms), nicks are contacts, the network is an address of its own.

Each XMPP user gets their own connection per network (`IrcSessions`); what it reports (events.py) is turned into
room events for the XMPP side (`RoomSink`) and, for private messages, into journaled `InboundMessage`s.
Our own channel messages are not taken from IRC: the XMPP side reflects a message once the transport accepted
it, with the client's ids, so the IRC copy (echo-message or the local report) is dropped here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable
from typing import Any, cast

from gateway.core.events import ContactPresence, InboundMessage, OutboundMessage, Outcome, Refusal, Status
from gateway.core.rooms import InRoomOrder, Occupant, RoomListing, RoomMessage, RoomPage, RoomSink, RoomState, Show
from gateway.core.tasks import TaskSet
from gateway.store.irc import KeptChannel
from gateway.transports.base import AddressError, Transport
from gateway.transports.irc.accounts import IrcAccounts, upsert_configured
from gateway.transports.irc.addressing import Casemapping, check_nick, check_target, parse_local_part
from gateway.transports.irc.channel import Channel, Member
from gateway.transports.irc.connection import IrcConnection, IrcIdentity
from gateway.transports.irc.events import (
    AwayEvent,
    DisconnectedEvent,
    ErrorEvent,
    IrcEventsBase,
    JoinEvent,
    KickEvent,
    MessageEvent,
    ModeEvent,
    NickEvent,
    OwnNickEvent,
    PartEvent,
    QuitEvent,
    ReconnectedEvent,
    TopicEvent,
)
from gateway.transports.irc.formatting import irc_to_styling
from gateway.transports.irc.lines import incoming_body
from gateway.transports.irc.session import IrcSessions
from gateway.transports.irc.settings import IrcNetwork, IrcSettings

log = logging.getLogger(__name__)

_NICK_UNSAFE = re.compile(r"[^A-Za-z0-9\[\]\\`_^{|}-]")


def default_nick(jid: str) -> str:
    """A nick from a JID's local part, for a connection opened by a private message (no nick was asked for)."""
    nick = _NICK_UNSAFE.sub("", jid.partition("@")[0])[:16]
    if not nick or nick[0].isdigit() or nick[0] == "-":
        nick = "x" + nick
    return nick[:16]


class IrcTransport(Transport[IrcSettings]):
    name = "irc"
    gateway_type = "irc"
    description = ("IRC: join #channel%network@this-domain as a group chat; write to nick%network@this-domain for "
                   "a private message.")
    features = ("http://jabber.org/protocol/muc",)

    def __init__(self, settings: IrcSettings, context: Any, **connection_options: Any) -> None:
        super().__init__(settings, context)
        # Networks and each user's nick and credentials come from the database (accounts.py).
        self.accounts = IrcAccounts(settings, context.store.irc, transport=self.name)
        self.sessions = IrcSessions(settings, events_for=self._events_for, identity_for=self.identity_for,
                                    resolve_network=self.accounts.network,
                                    connection_options=connection_options or None)
        self.sink: RoomSink | None = None
        self.room_events: RoomSink | None = None  # the sink, behind the room messages received before (InRoomOrder)
        # What is kept per (user, network) lives in that user's session (user_session.py), not here.
        self._watcher: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None  # joins kept channels again after a start
        self._tasks = TaskSet(log)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def room_service(self) -> IrcTransport:
        return self

    def attach_rooms(self, sink: RoomSink) -> None:
        self.sink = sink
        self.room_events = cast(RoomSink, InRoomOrder(sink, self.router.after_room_messages))

    async def start(self) -> None:
        # The database is the source of truth for networks; the config file's own are upserted at every start.
        await upsert_configured(self.settings, self.context.store.irc)
        loop = asyncio.get_running_loop()
        self._watcher = loop.create_task(self._watch_networks(), name="irc-networks")
        self._keeper = loop.create_task(self._rejoin_kept(), name="irc-always-on")

    async def stop(self) -> None:
        for task in (self._watcher, self._keeper):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.sessions.close_all()

    # -- always-on presence ----------------------------------------------------------------------------------
    async def always_on(self, user: str, network: str) -> bool:
        """Whether `user` stays on `network` with no resource in its rooms: their choice, else the admin's."""
        account = await self.context.store.irc.account(user, network, transport=self.name)
        if account is not None and account.always_on is not None:
            return account.always_on
        return self.settings.always_on_default(network)

    async def _rejoin_kept(self) -> None:
        """After a start: back into the channels always-on users stayed in with no resource in their rooms (the
        rooms someone is in come back through the stored room memberships)."""
        try:
            kept = await self.context.store.irc.kept_channels(transport=self.name)
        except Exception:
            log.exception("cannot read the channels always-on users stay in; none is joined again")
            return
        by_user: dict[tuple[str, str], list[KeptChannel]] = {}
        for row in kept:
            by_user.setdefault((row.user, row.network), []).append(row)
        await asyncio.gather(*(self._rejoin_user(rows) for rows in by_user.values()))

    async def _rejoin_user(self, rows: list[KeptChannel]) -> None:
        for row in rows:  # one channel's failure is that channel's only
            try:
                if not await self.always_on(row.user, row.network):
                    await self._unkeep(row.user, row.network, row.channel)
                    continue
                await self.router.access.check(row.user, self.name)
                await self.sessions.join(row.user, row.network, row.channel, nick=row.nick)
                session = self.sessions.find(row.user, row.network)
                connection = self.sessions.get(row.user, row.network)
                if session is not None and connection is not None:
                    session.detached.add(connection.server.fold(row.channel))
                log.info("%s: back in %s on %s (always on)", row.user, row.channel, row.network)
            except Refusal as refusal:
                log.info("%s: not back in %s on %s: %s", row.user, row.channel, row.network, refusal.text)
                await self._unkeep(row.user, row.network, row.channel)
            except Exception:
                log.exception("%s: joining %s on %s again failed", row.user, row.channel, row.network)

    async def _unkeep(self, user: str, network: str | None = None, channel: str | None = None) -> None:
        try:
            await self.context.store.irc.unkeep_channels(user, transport=self.name, network=network, channel=channel)
        except Exception:
            log.exception("%s: cannot forget the channels kept for them", user)

    async def set_always_on(self, user: str, network: str) -> list[str]:
        """The user's choice changed: when it is off now, the channels they stay in with no resource in the room
        are left. The channels left."""
        session = self.sessions.find(user, network)
        if session is None or session.connection is None or await self.always_on(user, network):
            return []
        left = sorted(session.detached)
        for channel in left:
            await self._part_kept(user, network, channel)
        return left

    async def _part_kept(self, user: str, network: str, channel: str) -> None:
        session = self.sessions.find(user, network)
        if session is not None:
            session.detached.discard(channel)
        await self._unkeep(user, network, channel)
        await self.sessions.part(user, network, channel)

    async def _watch_networks(self) -> None:
        """Close the connections to a network an admin removed, and those of users who may no longer use this
        transport (removed or disabled), whatever did it (CLI, ad-hoc, another process), within 2 s.

        Two queries per second, and none while nobody is connected. With arbitrary servers allowed, a name that is
        not stored may be a server the user named: only a network seen stored before counts as removed.
        """
        stored: set[str] = set()
        while True:
            await asyncio.sleep(self.accounts.CACHE_SECONDS)
            connected = self.sessions.open_networks()
            if not connected:
                continue
            try:
                names = {record.name for record in await self.context.store.irc.networks()}
                refused = await self.router.access.refused(self.sessions.owners(), self.name)
            except Exception:
                log.exception("cannot read the IRC networks or users; trying again")
                continue
            for name in connected - names:
                if name in stored or not self.settings.allow_arbitrary_servers:
                    await self._network_removed(name)
            stored = names
            for owner, refusal in refused.items():
                await self._drop_user(owner, f"Your IRC connections are closed: {refusal.text}",
                                      "Removed from the gateway")

    async def user_left(self, user: str) -> None:
        """Their settings on every network are gone with them: their connections QUIT, their rooms show as left."""
        await self._drop_user(user, "You left the IRC gateway: your IRC connections are closed.", "Left the gateway")

    async def _drop_user(self, user: str, reason: str, quit_message: str) -> None:
        """Every session of the user closes, and the rooms drop whatever else they kept of them."""
        for network in self.sessions.networks_of(user):
            await self._close_for(user, network, reason, quit_message)
        await self._unkeep(user)
        if self.sink is not None:
            self.sink.user_left(user, reason)

    async def _network_removed(self, network: str) -> None:
        reason = f"An admin removed the IRC network {network} from this gateway."
        for owner in self.sessions.owners_on(network):
            await self._close_for(owner, network, reason, "Network removed from the gateway")
            await self._unkeep(owner, network)

    async def _close_for(self, owner: str, network: str, reason: str, quit_message: str) -> None:
        """Show the user's rooms on `network` as left with `reason`, tell them, then QUIT. A failure is logged:
        it must not keep the user's (or the network's) other sessions open."""
        try:
            connection = self.sessions.get(owner, network)
            log.info("%s: %s", owner, reason)
            if connection is not None and self.sink is not None:
                for channel in connection.wanted_channels:
                    self.sink.removed(owner, f"{channel}%{network}", reason)
                self.sink.notice(owner, network, reason)
        except Exception:
            log.exception("%s: telling them that %s closes failed", owner, network)
        try:
            await self.sessions.close(owner, network, quit_message)
        except Exception:
            log.exception("%s: closing their connection to %s failed", owner, network)

    def _events_for(self, owner: str, network: IrcNetwork) -> _UserEvents:
        return _UserEvents(self, owner, network.name)

    async def identity_for(self, owner: str, network: IrcNetwork) -> IrcIdentity:
        """Who `owner` is on `network`. Their nick: the one stored for the network, else the default nick they gave
        when registering, else the nick of their first join there, else one made from their JID."""
        registered = await self.context.store.users.nick(owner, self.name)
        session = self.sessions.find(owner, network.name)
        fallback = registered or (session.nick if session is not None else None) or default_nick(owner)
        return await self.accounts.identity(owner, network, fallback)

    # -- addresses ------------------------------------------------------------------------------------------
    def normalize_peer(self, local_part: str) -> str:
        return parse_local_part(local_part).local_part

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def _channel_of(room: str) -> tuple[str, str]:
        """(network, channel) of a room; cached, since every message to a room asks twice and its checks cost more
        than the rest of the lookup (an invalid room raises every time: exceptions are not cached)."""
        address = parse_local_part(room)
        if address.kind != "channel" or address.name is None:
            raise AddressError(f"{room!r} is no IRC channel; channels are written #channel%network.")
        return address.network, address.name

    def _joined(self, user: str, room: str) -> tuple[IrcConnection, str]:
        network, channel = self._channel_of(room)
        connection = self.sessions.get(user, network)
        if connection is not None and not connection.connected and not connection.closed:
            raise Refusal("recipient-unavailable", f"Reconnecting to {network}; try again shortly.")
        if connection is None or not connection.is_joined(channel):
            raise Refusal("not-acceptable", f"You are not in {channel} on {network}; join it first.")
        return connection, channel

    # -- private messages (through the router: journaled) ---------------------------------------------------
    async def send(self, message: OutboundMessage) -> None:
        address = parse_local_part(message.peer)
        if address.kind == "channel":
            raise Refusal("bad-request", f"{address.name} is a channel: join it as a group chat to talk there.")
        if address.kind == "network":
            await self._network_command(message, address.network)
            return
        assert address.name is not None
        connection = await self.sessions.connection(message.user, address.network)
        session = self.sessions.find(message.user, address.network)
        if session is not None:
            session.pm_rooms.pop(connection.server.fold(address.name), None)
        await connection.privmsg(address.name, message.body)
        self.contact_seen(message.user, address.network, connection, address.name)
        await self.router.outcome(Outcome(message, Status.SENT))

    async def _network_command(self, message: OutboundMessage, network: str) -> None:
        if not message.body.startswith("/"):
            raise Refusal("bad-request", f"Write /COMMAND args to {network} to send a raw IRC command (admins only);"
                                         " join #channel%" + network + " to talk.")
        if not await self.router.access.is_admin(message.user):
            raise Refusal("forbidden", "Only admins may send raw IRC commands.")
        connection = await self.sessions.connection(message.user, network)
        await connection.send_raw(message.body[1:])
        await self.router.outcome(Outcome(message, Status.SENT))

    # -- rooms (core.rooms.RoomTransport) --------------------------------------------------------------------
    async def join_room(self, user: str, room: str, nick: str, password: str | None) -> RoomState:
        await self.router.access.check(user, self.name)
        network, channel = self._channel_of(room)
        check_nick(nick)
        state = await self.sessions.join(user, network, channel, password or None, nick=nick)
        connection = self.sessions.get(user, network)
        assert connection is not None
        session = self.sessions.find(user, network)
        folded = connection.server.fold(channel)
        if session is not None and folded in session.detached:
            # Back in a channel they stayed in while away: what was said meanwhile is in the archive.
            session.detached.discard(folded)
            await self._unkeep(user, network, folded)
        found = occupants(connection, state)
        if state.member(connection.nick) is None:
            # The channel's state is shared, kept by one of the users' connections: it may not have read our JOIN
            # yet when the server has answered it on ours.
            found.append(Occupant(connection.nick))
        return RoomState(room=room, nick=connection.nick, occupants=tuple(found),
                         subject=irc_to_styling(state.topic or ""), subject_by=state.topic_by)

    async def leave_room(self, user: str, room: str) -> None:
        network, channel = self._channel_of(room)
        session = self.sessions.find(user, network)
        if session is not None:
            session.left_room(room)
        connection = self.sessions.get(user, network)
        if (session is not None and connection is not None and not connection.closed
                and connection.server.fold(channel) in {connection.server.fold(n) for n in connection.wanted_channels}
                and await self.always_on(user, network)):
            # Always on: XMPP cannot tell leaving a room from going offline, so the channel stays joined (its lines
            # go to the archive) until the user turns always-on off. Kept by its folded name, as it is compared.
            folded = connection.server.fold(channel)
            session.detached.add(folded)
            await self.context.store.irc.keep_channel(user, network, folded, connection.nick, transport=self.name)
            return
        await self.sessions.part(user, network, channel)

    def room_archived(self, room: str) -> bool:
        try:
            network, channel = self._channel_of(room)
        except AddressError:
            return False
        return self.settings.archived(network, channel, Casemapping.RFC1459.fold)

    async def send_room_message(self, user: str, room: str, body: str) -> Awaitable[None]:
        connection, channel = self._joined(user, room)
        written = await connection.say(channel, body)
        if written is None:
            raise Refusal("not-acceptable", "The message has no text IRC can carry.")
        return written

    async def send_room_private(self, user: str, room: str, nick: str, body: str) -> None:
        connection, _ = self._joined(user, room)
        check_target(nick)
        session = self.sessions.find(user, connection.network.name)
        if session is not None:
            session.pm_rooms[connection.server.fold(nick)] = room
        if not await connection.privmsg(nick, body):
            raise Refusal("not-acceptable", "The message has no text IRC can carry.")

    async def set_room_subject(self, user: str, room: str, subject: str) -> None:
        connection, channel = self._joined(user, room)
        await connection.set_topic(channel, subject)

    async def change_room_nick(self, user: str, room: str, nick: str) -> None:
        connection, _ = self._joined(user, room)
        await connection.set_nick(nick)

    async def set_user_show(self, user: str, room: str, show: Show, status: str | None) -> None:
        network, _ = self._channel_of(room)
        connection = self.sessions.get(user, network)
        if connection is None:
            return
        # Only a real change of availability is sent (set_away compares): no AWAY spam on status updates.
        await connection.set_away((status or "Away") if show in ("away", "xa", "dnd") else None)

    @property
    def history_on_join(self) -> int:
        return self.settings.history_on_join

    def room_name(self, room: str) -> str | None:
        try:
            address = parse_local_part(room)
        except AddressError:
            return None
        return address.name if address.kind == "channel" else None

    async def list_rooms(self, user: str, service: str, *, after: str | None, limit: int) -> RoomPage | None:
        try:
            address = parse_local_part(service)
        except AddressError:
            return None
        if address.kind != "network":
            return None
        await self.router.access.check(user, self.name)
        connection = await self.sessions.connection(user, address.network)
        page = await connection.list_channels(after=after, limit=limit)
        items = tuple(RoomListing(f"{item.name}%{address.network}", item.name, item.users, irc_to_styling(item.topic))
                      for item in page.items)
        return RoomPage(items, page.total, page.first, page.last)

    def channel_gone(self, user: str, network: str, channel: str) -> None:
        """Out of a channel without leaving its room (kicked, refused after a reconnect): not kept any more."""
        session = self.sessions.find(user, network)
        connection = self.sessions.get(user, network)
        if session is not None and connection is not None:
            folded = connection.server.fold(channel)
            if folded in session.detached:
                session.detached.discard(folded)
                self._tasks.spawn(self._unkeep(user, network, folded))

    def contact_seen(self, user: str, network: str, connection: IrcConnection, nick: str) -> None:
        """A private conversation with `nick`: from now on the user sees that IRC user's presence."""
        session = self.sessions.find(user, network)
        folded = connection.server.fold(nick)
        if session is None or session.connection is not connection or folded in session.contacts or self.sink is None:
            return
        session.contacts.add(folded)
        away = next((member.away for channel in connection.channels_with(nick)
                     if (member := channel.member(nick)) is not None), None)
        self.sink.contact_presence(user, f"{nick}%{network}", True, "away" if away else None, away)

    def contact_presence(self, user: str, peer: str) -> ContactPresence:
        """An IRC user is there while we share a channel with them or have talked since they last quit."""
        try:
            address = parse_local_part(peer)
        except Refusal:
            return ContactPresence()  # not a nick: rooms and networks answer for themselves
        if address.kind != "nick" or address.name is None:
            return ContactPresence()
        connection = self.sessions.get(user, address.network)
        if connection is None or not connection.connected:
            return ContactPresence(False, status=f"You are not connected to {address.network}.")
        members = [member for channel in connection.channels_with(address.name)
                   if (member := channel.member(address.name)) is not None]
        if not members and not self.contact_known(user, address.network, connection, address.name):
            return ContactPresence(False, status="Not seen on IRC since you connected.")
        away = next((member.away for member in members if member.away), None)
        return ContactPresence(True, "away" if away else None, away)

    def contact_known(self, user: str, network: str, connection: IrcConnection, nick: str) -> bool:
        session = self.sessions.find(user, network)
        return session is not None and connection.server.fold(nick) in session.contacts

    def contact_gone(self, user: str, network: str, connection: IrcConnection, nick: str) -> None:
        session = self.sessions.find(user, network)
        if session is not None:
            session.contacts.discard(connection.server.fold(nick))

    def pm_room(self, user: str, network: str, folded_nick: str) -> str | None:
        """The room of an in-room private conversation with that nick, while the user is still in it; once they
        left it the entry is dropped and the nick's messages are ordinary private messages again (one that went
        offline or whose connection was replaced has a new session, without it)."""
        session = self.sessions.find(user, network)
        room = session.pm_rooms.get(folded_nick) if session is not None else None
        if session is None or room is None:
            return None
        if session.connection is not None and session.connection.is_joined(self._channel_of(room)[1]):
            return room
        del session.pm_rooms[folded_nick]
        return None


def occupant(connection: IrcConnection, member: Member) -> Occupant:
    role, affiliation = connection.server.prefixes.role_affiliation(member.modes)
    return Occupant(member.nick, role, affiliation, "away" if member.away else None, member.away)


def occupants(connection: IrcConnection, channel: Channel) -> list[Occupant]:
    return [occupant(connection, member) for member in channel.snapshot()]


class _UserEvents(IrcEventsBase):
    """One user's connection to one network, as room events and private messages."""

    own_messages = False  # the XMPP side already reflected them (see the module docstring)

    def __init__(self, transport: IrcTransport, owner: str, network: str) -> None:
        self.transport = transport
        self.owner = owner
        self.network = network

    @property
    def connection(self) -> IrcConnection | None:
        return self.transport.sessions.get(self.owner, self.network)

    def room(self, channel: str) -> str:
        return f"{channel}%{self.network}"

    @property
    def sink(self) -> RoomSink | None:
        return self.transport.room_events

    async def on_message(self, event: MessageEvent) -> None:
        connection, sink = self.connection, self.sink
        if event.own or connection is None or sink is None:
            return
        body = incoming_body(irc_to_styling(event.text), event.action)
        msgid = event.tags.get("msgid")
        provider_id = f"{self.network}:{msgid}" if msgid else None
        if not event.private:
            channel = event.target.lstrip(connection.server.prefixes.symbols)  # @#chan: to the channel's ops
            # Journaled, then shown (the router keeps the order and batches the writes).
            self.transport.router.receive_room(InboundMessage(
                transport=self.transport.name, user=self.owner, peer=self.room(channel), body=body,
                provider_id=provider_id, timestamp=event.time, room_nick=event.source,
                archived=self.transport.settings.archived(self.network, channel, connection.server.fold)))
            return
        if event.from_server or "." in event.source or not event.source:
            sink.notice(self.owner, self.network, body)
            return
        room = self.transport.pm_room(self.owner, self.network, connection.server.fold(event.source))
        if room is not None:
            self.transport.router.receive_room(InboundMessage(
                transport=self.transport.name, user=self.owner, peer=room, body=body, provider_id=provider_id,
                timestamp=event.time, room_nick=event.source, room_private=True))
            return
        self.transport.contact_seen(self.owner, self.network, connection, event.source)
        # Contacts are stored under the rfc1459-folded nick (admin.contact_address): look them up the same way.
        contact = await self.transport.context.store.contacts.get(
            self.owner, self.transport.name, f"{Casemapping.RFC1459.fold(event.source)}%{self.network}")
        await self.transport.router.receive(InboundMessage(
            transport=self.transport.name, user=self.owner, peer=f"{event.source}%{self.network}", body=body,
            provider_id=provider_id, timestamp=event.time,
            sender_name=contact.name if contact is not None else None))

    def _occupant(self, channel: str, nick: str) -> Occupant | None:
        connection = self.connection
        state = connection.channel(channel) if connection is not None else None
        member = state.member(nick) if state is not None else None
        return occupant(connection, member) if connection is not None and member is not None else None

    async def on_join(self, event: JoinEvent) -> None:
        if event.own or self.sink is None:
            return  # our own join is reported by join_room
        found = self._occupant(event.channel, event.nick)
        if found is not None:
            self.sink.occupant_joined(self.owner, self.room(event.channel), found)

    async def on_part(self, event: PartEvent) -> None:
        if self.sink is None:
            return
        if event.own:
            return  # we asked for it (leave_room): the XMPP side has already answered
        self.sink.occupant_left(self.owner, self.room(event.channel), event.nick, event.reason)

    async def on_quit(self, event: QuitEvent) -> None:
        connection = self.connection
        if self.sink is None:
            return
        if connection is not None and self.transport.contact_known(self.owner, self.network, connection, event.nick):
            self.transport.contact_gone(self.owner, self.network, connection, event.nick)
            self.sink.contact_presence(self.owner, f"{event.nick}%{self.network}", False, status=event.reason)
        for channel in event.channels:
            self.sink.occupant_left(self.owner, self.room(channel), event.nick, event.reason)

    async def on_nick(self, event: NickEvent) -> None:
        connection = self.connection
        if self.sink is None:
            return
        if connection is not None and self.transport.contact_known(self.owner, self.network, connection, event.old):
            self.transport.contact_gone(self.owner, self.network, connection, event.old)
            self.sink.contact_presence(self.owner, f"{event.old}%{self.network}", False,
                                       status=f"Now known as {event.new}")
            self.transport.contact_seen(self.owner, self.network, connection, event.new)
        for channel in event.channels:
            self.sink.nick_changed(self.owner, self.room(channel), event.old, event.new)

    async def on_own_nick(self, event: OwnNickEvent) -> None:
        connection, sink = self.connection, self.sink
        if sink is None:
            return
        if event.reason == "in-use":
            sink.notice(self.owner, self.network,
                        f"The nick {event.wanted} is in use on {self.network}; you are {event.new} there.")
        if connection is not None:
            for channel in connection.channels:
                sink.nick_changed(self.owner, self.room(channel.name), event.old, event.new)

    async def on_kick(self, event: KickEvent) -> None:
        if self.sink is None:
            return
        room = self.room(event.channel)
        if event.own:
            self.sink.removed(self.owner, room, event.reason or "", kicked_by=event.by)
            self.transport.channel_gone(self.owner, self.network, event.channel)
            self.transport.sessions.released(self.owner, self.network)
        else:
            self.sink.occupant_left(self.owner, room, event.nick, event.reason, kicked_by=event.by)

    async def on_mode(self, event: ModeEvent) -> None:
        if self.sink is None:
            return
        for nick in dict.fromkeys(change.nick for change in event.changes):
            found = self._occupant(event.channel, nick)
            if found is not None:
                self.sink.occupant_changed(self.owner, self.room(event.channel), found)

    async def on_topic(self, event: TopicEvent) -> None:
        if event.changed and self.sink is not None:
            self.sink.subject_changed(self.owner, self.room(event.channel), irc_to_styling(event.topic), event.by)

    async def on_away(self, event: AwayEvent) -> None:
        connection, sink = self.connection, self.sink
        if connection is None or sink is None:
            return
        if self.transport.contact_known(self.owner, self.network, connection, event.nick):
            sink.contact_presence(self.owner, f"{event.nick}%{self.network}", True,
                                  "away" if event.message is not None else None, event.message)
        for channel in connection.channels_with(event.nick):
            found = self._occupant(channel.name, event.nick)
            if found is not None:
                sink.occupant_changed(self.owner, self.room(channel.name), found)

    async def on_disconnected(self, event: DisconnectedEvent) -> None:
        connection, sink = self.connection, self.sink
        if not event.reconnecting or connection is None or sink is None:
            return  # closed for good: the registry dropped the session with what it knew
            return
        for channel in connection.wanted_channels:
            sink.room_message(self.owner, RoomMessage(
                self.room(channel), "", f"Lost the connection to {self.network} ({event.reason}); reconnecting."))

    async def on_reconnected(self, event: ReconnectedEvent) -> None:
        connection, sink = self.connection, self.sink
        if connection is None or sink is None:
            return
        for name in event.channels:
            channel = connection.channel(name)
            if channel is not None:
                sink.rejoined(self.owner, RoomState(self.room(channel.name), connection.nick,
                                                    tuple(occupants(connection, channel)),
                                                    irc_to_styling(channel.topic or ""), channel.topic_by))
        for name, why in event.lost:
            sink.removed(self.owner, self.room(name), f"Could not rejoin after a reconnect: {why}")
            self.transport.channel_gone(self.owner, self.network, name)

    async def on_error(self, event: ErrorEvent) -> None:
        connection, sink = self.connection, self.sink
        if sink is None:
            return
        if event.target and connection is not None and connection.is_joined(event.target):
            sink.room_message(self.owner, RoomMessage(self.room(event.target), "", event.text))
        else:
            sink.notice(self.owner, self.network, event.text)
