"""XEP-0045 group chats on a component: room JIDs (`<room>@<domain>/<nick>`) over a transport's rooms.

Presences to a room JID join, change nick, change availability or leave; groupchat messages talk; chat messages
to `room/nick` are in-room private messages. What happens in the room (core.rooms.RoomSink) is rendered to every
resource of the user that joined. The transport sees one membership per user: the first resource joins, the last
one to leave parts.

Our own room messages are reflected here, once the transport took them, to every joined resource with the
client's id and origin-id kept and a stanza-id (XEP-0359) of ours added, as XEP-0045 7.4 asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from xml.etree import ElementTree as ET

from slixmpp import JID, Iq, Message, Presence
from slixmpp.plugins.xep_0030 import DiscoInfo, DiscoItems
from slixmpp.plugins.xep_0059 import Set as RsmSet
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from gateway.core.events import (
    ErrorCondition,
    ErrorType,
    InboundMessage,
    OutboundMessage,
    Outcome,
    Refusal,
    Status,
    new_id,
)
from gateway.core.rooms import Occupant, RoomMessage, RoomState, RoomTransport, Show
from gateway.core.tasks import TaskSet
from gateway.store.archive import RoomArchive
from gateway.store.rooms import RoomMemberRepository, StoredMembership
from gateway.xmpp import stanza_text
from gateway.xmpp.addressing import nick_of, peer_bare_jid, peer_jid, peer_of, resource_part
from gateway.xmpp.bounce import answer_error, bounce, error_condition
from gateway.xmpp.component import GatewayComponent
from gateway.xmpp.room_archive import FEATURES as ARCHIVE_FEATURES
from gateway.xmpp.room_archive import RoomArchiveService

log = logging.getLogger(__name__)

MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER_NS = "http://jabber.org/protocol/muc#user"
PING_NS = "urn:xmpp:ping"
# Errors by which a user's server says the resource a room stanza went to is gone (XEP-0045 ends the membership).
GONE = frozenset({"service-unavailable", "recipient-unavailable", "item-not-found", "gone",
                  "remote-server-not-found"})

AWAY_SHOWS = ("away", "xa", "dnd")
DEFAULT_PAGE, MAX_PAGE = 50, 200  # rooms per disco#items page, without and with the client's RSM max
RESUME_HOLD = 600.0  # after a restart, how long a journaled room message waits for its sender to rejoin


@dataclass(slots=True)
class _Membership:
    """One user in one room: the resources that joined, our nick, and who else is there (for late resources)."""

    room: str  # the transport's address of the room (local part, unescaped)
    jid: str  # the room's bare JID
    nick: str
    resources: set[str] = field(default_factory=set)  # full JIDs
    occupants: dict[str, Occupant] = field(default_factory=dict)  # by nick; read-only, see _SharedOccupants
    subject: str = ""
    subject_by: str | None = None


_Change = tuple[tuple[str, ...], tuple[tuple[str, Occupant], ...]]  # nicks removed, then (nick, occupant) set


class _SharedOccupants:
    """The occupant lists of the users in a room, shared while they are equal.

    Every user in a room hears of the same changes in the same order, so N users would hold N equal lists. Each
    membership's dict is read-only instead: a change makes one new dict, and the next user making the same change
    to the same dict takes that one (the last change per room is remembered). A joining user whose list equals the
    latest one takes it too; a list that differs stays the user's own. What each user sees is unchanged.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[dict[str, Occupant] | None, _Change | None, dict[str, Occupant]]] = {}
        self._users: dict[str, int] = {}  # room JID -> memberships, to forget a room nobody is in

    def enter(self, room_jid: str) -> None:
        self._users[room_jid] = self._users.get(room_jid, 0) + 1

    def leave(self, room_jid: str) -> None:
        count = self._users.get(room_jid, 0) - 1
        if count > 0:
            self._users[room_jid] = count
        else:
            self._users.pop(room_jid, None)
            self._last.pop(room_jid, None)

    def load(self, room_jid: str, occupants: dict[str, Occupant]) -> dict[str, Occupant]:
        last = self._last.get(room_jid)
        if last is not None and last[2] == occupants:
            return last[2]
        self._last[room_jid] = (None, None, occupants)
        return occupants

    def change(self, room_jid: str, current: dict[str, Occupant], removed: tuple[str, ...] = (),
               added: tuple[tuple[str, Occupant], ...] = ()) -> dict[str, Occupant]:
        change = (removed, added)
        last = self._last.get(room_jid)
        if last is not None and last[0] is current and last[1] == change:
            return last[2]
        new = dict(current)
        for nick in removed:
            new.pop(nick, None)
        new.update(added)
        if last is not None and last[2] == new:
            new = last[2]  # the room's latest list already reads so (a member who joined after the change came)
        if room_jid in self._users:
            self._last[room_jid] = (current, change, new)
        return new


class SendOrder:
    """The messages of one user to one room leave in the order they arrived, while each waits for its own journal
    write: a message's turn comes when the one before it has been sent (or refused)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], asyncio.Future[None]] = {}

    def take(self, key: tuple[str, str]) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        """The turn before this one (None when there is none waiting) and this one's, to `release` when done."""
        previous = self._last.get(key)
        self._last[key] = turn = asyncio.get_running_loop().create_future()
        return previous, turn

    def release(self, key: tuple[str, str], previous: asyncio.Future[None] | None, turn: asyncio.Future[None]) -> None:
        """This message is done; the next one's turn comes once the one before this is done too (a message refused
        before its turn must not let the next overtake the one before)."""
        def done(_: object = None) -> None:
            turn.set_result(None)
            if self._last.get(key) is turn:
                del self._last[key]

        if previous is None or previous.done():
            done()
        else:
            previous.add_done_callback(done)


class MucService:
    """Installs XEP-0045 handling on `xmpp` for `rooms`; implements core.rooms.RoomSink. The composition root
    connects it to the component's room stanzas, the transport's room events and the router's room deliveries."""

    def __init__(self, xmpp: GatewayComponent, rooms: RoomTransport,
                 memberships: RoomMemberRepository | None = None, archive: RoomArchive | None = None) -> None:
        self.xmpp = xmpp
        self.rooms = rooms
        self._stored = memberships  # None: memberships live as long as the process (tests of the XMPP side)
        self._restored = False
        self._members: dict[tuple[str, str], _Membership] = {}  # (user bare JID, room bare JID)
        self._occupants = _SharedOccupants()
        self._tasks = TaskSet(log)  # presences and room work being handled; stop() waits for them
        # One presence at a time per (user, room): a join must finish before the leave that follows it.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._lock_users: dict[tuple[str, str], int] = {}  # presences holding or awaiting each lock: none, dropped
        self._send_order = SendOrder()
        # Journaled room messages of an earlier run, waiting for their user to join the room again.
        self._parked_in: dict[tuple[str, str], list[tuple[InboundMessage, asyncio.Future[None]]]] = {}
        self._parked_out: dict[tuple[str, str], list[OutboundMessage]] = {}
        self._hold_timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.resume_hold = RESUME_HOLD
        # None: no archive (MAM, history on join) is offered (tests of the XMPP side).
        self._archive = RoomArchiveService(xmpp, rooms, archive, self._tasks.spawn) if archive is not None else None
        xmpp.register_handler(Callback("MUC presence", MatchXPath(f"{{{xmpp.default_ns}}}presence"),
                                       self._presence_received))
        # XEP-0410: a ping to an occupant JID says whether its sender is joined (slixmpp's answers every ping).
        xmpp.remove_handler("Ping")
        xmpp.register_handler(Callback("Ping", MatchXPath(f"{{{xmpp.default_ns}}}iq/{{{PING_NS}}}ping"),
                                       self._ping))
        xmpp.add_event_handler("session_start", self._on_session_start)
        self._setup_disco()

    # -- disco: a room's info, a service's rooms (XEP-0030, paged with XEP-0059) ---------------------------------
    def _setup_disco(self) -> None:
        disco = self.xmpp.plugin["xep_0030"]
        static = disco.static  # what the component declared for its own JID: kept for every other address
        register_stanza_plugin(DiscoItems, RsmSet)

        async def get_info(jid: JID | None, node: str | None, ifrom: JID | None, data: Any) -> Any:
            if jid is not None and jid.user and not node:
                info = self._room_info(jid)
                if info is not None:
                    return info
            return static.get_info(jid, node, ifrom, data)

        async def get_items(jid: JID | None, node: str | None, ifrom: JID | None, data: Any) -> Any:
            if jid is not None and jid.user and not node and isinstance(data, Iq) and data["type"] == "get":
                reply = await self._room_list(data)
                if reply is not None:
                    return reply
            return static.get_items(jid, node, ifrom, data)

        disco.api.register(get_info, "get_info")
        disco.api.register(get_items, "get_items")

    def _room_info(self, jid: JID) -> DiscoInfo | None:
        name = self.rooms.room_name(peer_of(jid))
        if name is None:
            return None
        info = DiscoInfo()
        info.add_identity("conference", "text", name=name)
        # urn:xmpp:sid:0: clients trust a room's stanza-id only when the room announces it; ours is the journal's
        # id, the same on a redelivery after a restart, so they can drop the second copy.
        for feature in ("http://jabber.org/protocol/disco#info", MUC_NS, stanza_text.SID_NS, "muc_open", "muc_public",
                        "muc_temporary", "muc_unmoderated", "muc_unsecured", "muc_semianonymous",
                        "muc_passwordprotected",
                        *(ARCHIVE_FEATURES if self._archive is not None and self.rooms.room_archived(peer_of(jid))
                          else ())):
            info.add_feature(feature)
        return info

    async def _room_list(self, iq: Iq) -> Iq | None:
        """The reply to disco#items on a room service (an IRC network): one page of its rooms, `max` at most."""
        rsm = iq["disco_items"]["rsm"]
        limit = DEFAULT_PAGE
        if rsm["max"]:
            try:
                limit = max(1, min(MAX_PAGE, int(rsm["max"])))
            except ValueError:
                limit = DEFAULT_PAGE
        try:
            page = await self.rooms.list_rooms(str(iq["from"].bare), peer_of(iq["to"]), after=rsm["after"] or None,
                                               limit=limit)
        except Refusal as refusal:
            refused: Iq | None = bounce(self.xmpp, "iq", id=iq["id"], to=iq["from"], sender=iq["to"],
                                        condition=refusal.condition, text=refusal.text,
                                        etype="cancel" if refusal.condition != "resource-constraint" else "wait")
            return refused
        if page is None:
            return None
        reply: Iq = iq.reply()
        items = reply["disco_items"]
        for listing in page.items:
            name = f"{listing.name} ({listing.occupants})" + (f": {listing.topic}" if listing.topic else "")
            items.add_item(str(peer_jid(listing.room, self.xmpp.domain)), name=name)
        items["rsm"]["count"] = str(page.total)
        if page.first is not None and page.last is not None:
            items["rsm"]["first"] = page.first
            items["rsm"]["last"] = page.last
        return reply

    # -- helpers ----------------------------------------------------------------------------------------------
    def _room_jid(self, room: str) -> str:
        return peer_bare_jid(room, self.xmpp.domain)

    def _membership(self, user: str, room: str) -> _Membership | None:
        return self._members.get((user, self._room_jid(room)))

    def _presence(self, to: str, room_jid: str, nick: str, occupant: Occupant | None, *,
                  ptype: Literal["unavailable"] | None = None,
                  codes: tuple[int, ...] = (), new_nick: str | None = None, actor: str | None = None,
                  reason: str | None = None) -> None:
        # Written as text (stanza_text says why); the JID is still checked.
        attribute, text = stanza_text.attribute, stanza_text.text
        parts = [f"<presence from={attribute(stanza_text.full_jid(room_jid, nick))} to={attribute(to)}",
                 ' type="unavailable">' if ptype is not None else ">"]
        if occupant is not None and ptype is None:
            if occupant.show:
                parts.append(f"<show>{text(occupant.show)}</show>")
            if occupant.status:
                parts.append(f"<status>{text(occupant.status)}</status>")
        affiliation = occupant.affiliation if occupant is not None else "none"
        # A nick change (303) is an unavailable presence for an occupant who stays: the role stays too (XEP-0045 7.6).
        role = occupant.role if occupant is not None and (ptype is None or 303 in codes) else "none"
        parts.append(f'<x xmlns="{MUC_USER_NS}"><item affiliation={attribute(affiliation)} role={attribute(role)}')
        if new_nick is not None:
            parts.append(f" nick={attribute(resource_part(new_nick))}")
        if actor is None and not reason:
            parts.append(" />")
        else:
            parts.append(">")
            if actor is not None:
                parts.append(f"<actor nick={attribute(resource_part(actor))} />")
            if reason:
                parts.append(f"<reason>{text(reason)}</reason>")
            parts.append("</item>")
        parts.extend(f'<status code="{code}" />' for code in codes)
        parts.append("</x></presence>")
        self.xmpp.send("".join(parts))

    def _subject(self, to: str, member: _Membership) -> None:
        sender = stanza_text.full_jid(member.jid, member.subject_by or "")
        message = self.xmpp.make_message(mto=to, mfrom=JID(sender), mtype="groupchat")
        message["subject"] = member.subject
        if message.xml.find("{jabber:component:accept}subject") is None:
            ET.SubElement(message.xml, "{jabber:component:accept}subject")  # an empty subject still ends the join
        self.xmpp.outbox.send(message)

    def _show_room(self, to: str, member: _Membership, extra_codes: tuple[int, ...] = (),
                   history: Sequence[str] = ()) -> None:
        """Occupants, then our own presence (110), then the history, then the subject: the order XEP-0045 7.2
        gives a join."""
        own = member.occupants.get(member.nick)
        for nick, occupant in member.occupants.items():
            if nick != member.nick:
                self._presence(to, member.jid, nick, occupant)
        self._presence(to, member.jid, member.nick, own or Occupant(member.nick), codes=(110, *extra_codes))
        for line in history:
            self.xmpp.outbox.send(line)
        self._subject(to, member)

    async def _history(self, presence: Presence, key: tuple[str, str], room: str) -> list[str]:
        """What the join asks of the room's history (XEP-0045 7.2.15), read before the join goes on: a line that
        comes meanwhile is shown live, not missing from both."""
        if self._archive is None:
            return []
        x = presence.xml.find(f"{{{MUC_NS}}}x")
        request = x.find(f"{{{MUC_NS}}}history") if x is not None else None
        return await self._archive.history(key[0], str(presence["from"]), room, key[1], request,
                                           self.rooms.history_on_join)

    def _error_presence(self, presence: Presence, condition: ErrorCondition, text: str) -> None:
        etype: ErrorType = "auth" if condition in ("forbidden", "not-authorized", "registration-required") else "cancel"
        reply = bounce(self.xmpp, "presence", id=presence["id"], to=presence["from"], sender=presence["to"],
                       condition=condition, text=text, etype=etype)
        if reply is not None:
            ET.SubElement(reply.xml, f"{{{MUC_NS}}}x")
            reply.send()

    def _error_message(self, stanza: Message, condition: ErrorCondition, text: str) -> None:
        answer_error(self.xmpp, stanza, condition, text, "wait" if condition == "resource-constraint" else "cancel")

    # -- presences from users ---------------------------------------------------------------------------------
    def _presence_received(self, stanza: StanzaBase) -> None:
        assert isinstance(stanza, Presence)
        presence = stanza
        to = presence["to"]
        if not to.user or not to.resource or presence["type"] in ("subscribe", "subscribed", "unsubscribe",
                                                                  "unsubscribed", "probe", "error"):
            return  # not for a room occupant: the component's own handlers answer
        self._tasks.spawn(self._on_presence(presence))

    @contextlib.asynccontextmanager
    async def _turn(self, key: tuple[str, str]) -> AsyncIterator[None]:
        """One presence (or restore) at a time per (user, room): a join must finish before the leave after it."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key], self._locks[key]

    async def _on_presence(self, presence: Presence) -> None:
        sender, to = presence["from"], presence["to"]
        key = (str(sender.bare), str(to.bare))
        async with self._turn(key):
            try:
                if presence["type"] == "unavailable":
                    await self._leave(key, str(sender), peer_of(to))
                else:
                    await self._available(presence, key)
            except Refusal as refusal:
                self._error_presence(presence, refusal.condition, refusal.text)
                await self._fail_parked(key, f"Not sent: joining the room again failed ({refusal.text}).")
            except Exception:
                log.exception("%s: room presence from %s to %s failed", self.xmpp.domain, sender, to)
                self._error_presence(presence, "internal-server-error", "The gateway failed on this presence.")

    async def _available(self, presence: Presence, key: tuple[str, str]) -> None:
        user, room_jid = key
        full, nick = str(presence["from"]), nick_of(presence["to"])
        room = peer_of(presence["to"])
        show = presence["show"] or None
        status = presence["status"] or None
        member = self._members.get(key)
        if member is not None and full in member.resources:
            if nick != member.nick:
                await self.rooms.change_room_nick(user, member.room, nick)  # 303 follows from the network
            if presence.xml.find(f"{{{MUC_NS}}}x") is not None:
                # A join from a resource we have as joined (its client restarted, or ours did and restored it):
                # it waits for the room's state as after any join.
                self._show_room(full, member, history=await self._history(presence, key, room))
            await self.rooms.set_user_show(user, member.room, show if show in AWAY_SHOWS else None, status)
            return
        password = presence.xml.findtext(f"{{{MUC_NS}}}x/{{{MUC_NS}}}password")
        history = await self._history(presence, key, room)
        state = await self.rooms.join_room(user, room, nick, password)
        member = self._members.get(key)
        first = member is None
        if member is None:
            member = self._members[key] = _Membership(room, room_jid, state.nick)
            self._occupants.enter(room_jid)
        self._load(member, state)
        member.resources.add(full)
        self._show_room(full, member, (210,) if state.nick != nick else (), history)
        await self._remember(user, room, full, state.nick)
        if first:
            await self._unpark(key, member)
        await self.rooms.set_user_show(user, room, show if show in AWAY_SHOWS else None, status)

    # -- stored memberships: a restart restores them ---------------------------------------------------------
    async def _remember(self, user: str, room: str, full: str, nick: str) -> None:
        if self._stored is not None:
            await self._write(self._stored.joined(self.xmpp.adapter.name, user, room, JID(full).resource, nick),
                              user, room)

    async def _forget(self, user: str, room: str, full: str | None = None) -> None:
        if self._stored is not None:
            resource = JID(full).resource if full is not None else None
            await self._write(self._stored.left(self.xmpp.adapter.name, user, room, resource), user, room)

    async def _write(self, write: Awaitable[None], user: str, room: str) -> None:
        """A membership change written; a failure is logged (the membership holds until the process ends)."""
        try:
            await write
        except Exception:
            log.exception("%s: cannot store the room membership of %s in %s", self.xmpp.domain, user, room)

    def _on_session_start(self, _event: Any) -> None:
        if not self._restored and self._stored is not None:
            self._restored = True  # once per process: a new stream after a lost one keeps what is in memory
            self._tasks.spawn(self._restore_all(self._stored))

    async def _restore_all(self, stored: RoomMemberRepository) -> None:
        """Back into every stored room after a restart (kill -9 included), without any action of the users: each
        user's rooms one after the other (their IRC connection opens once), users side by side."""
        try:
            memberships = await stored.memberships(self.xmpp.adapter.name)
        except Exception:
            log.exception("%s: cannot read the stored room memberships; nobody is brought back", self.xmpp.domain)
            return
        by_user: dict[str, list[StoredMembership]] = {}
        for membership in memberships:
            by_user.setdefault(membership.user, []).append(membership)
        if by_user:
            log.info("%s: restoring %d room membership(s) of %d user(s)", self.xmpp.domain, len(memberships),
                     len(by_user))
        await asyncio.gather(*(self._restore_user(rooms, stored) for rooms in by_user.values()))

    async def _restore_user(self, memberships: list[StoredMembership], stored: RoomMemberRepository) -> None:
        for membership in memberships:  # one room's failure is that room's only
            try:
                await self._restore(membership, stored)
            except Exception:
                log.exception("%s: restoring %s in %s failed", self.xmpp.domain, membership.user, membership.room)

    async def _restore(self, stored: StoredMembership, repository: RoomMemberRepository) -> None:
        user, room = stored.user, stored.room
        key = (user, self._room_jid(room))
        async with self._turn(key):
            if key in self._members:
                return  # the user joined again before we got here
            # Read again: a resource that left meanwhile (its unavailable presence came first) stays out.
            resources = [f"{user}/{resource}"
                         for resource in await repository.resources(self.xmpp.adapter.name, user, room)]
            if not resources:
                return
            try:
                state = await self.rooms.join_room(user, room, stored.nick, None)
            except Refusal as refusal:
                reason = f"Could not rejoin the room after the gateway restarted: {refusal.text}"
                for full in resources:
                    self._presence(full, key[1], stored.nick, None, ptype="unavailable", codes=(110, 333),
                                   reason=reason)
                await self._forget(user, room)
                await self._fail_parked(key, f"Not sent: {reason}")
                return
            member = self._members[key] = _Membership(room, key[1], state.nick)
            self._occupants.enter(key[1])
            self._load(member, state)
            member.resources.update(resources)
            for full in resources:
                self._show_room(full, member, (210,) if state.nick != stored.nick else ())
            if state.nick != stored.nick:
                await self._remember(user, room, resources[0], state.nick)
            await self._unpark(key, member)

    def _shut_down(self) -> None:
        """The gateway stops: every occupant is told (XEP-0045 status 332); the memberships stay stored."""
        for member in self._members.values():
            own = member.occupants.get(member.nick)
            for full in sorted(member.resources):
                self._presence(full, member.jid, member.nick, own, ptype="unavailable", codes=(110, 332),
                               reason="The gateway is restarting; you will be back in the room when it is.")

    # -- bounces and self-pings ---------------------------------------------------------------------------------
    async def handle_error(self, stanza: Message) -> None:
        """An error from a user's server for a room stanza: when it says the resource is gone, it is out."""
        sender, to = stanza["from"], stanza["to"]
        key = (str(sender.bare), str(to.bare))
        condition = error_condition(stanza)
        if condition not in GONE:
            return
        async with self._turn(key):
            member = self._members.get(key)
            if member is None or str(sender) not in member.resources:
                return
            log.info("%s: %s is gone (%s); out of %s", self.xmpp.domain, sender, condition, member.room)
            await self._drop_resource(key, member, str(sender))

    def _ping(self, iq: StanzaBase) -> None:
        """XEP-0199 for the service; XEP-0410 for an occupant JID: result only for its own joined resource."""
        if iq["type"] != "get":
            return  # the component's IQ check answered it already
        to = iq["to"]
        if not (to.user and to.resource):
            iq.reply().send()
            return
        member = self._members.get((str(iq["from"].bare), str(to.bare)))
        if member is None or str(iq["from"]) not in member.resources:
            answer_error(self.xmpp, iq, "not-acceptable", "You are not in this room.")
        elif nick_of(to) != member.nick:
            answer_error(self.xmpp, iq, "service-unavailable", "Occupants from the network do not answer pings.")
        else:
            iq.reply().send()

    def _load(self, member: _Membership, state: RoomState) -> None:
        member.nick = state.nick
        member.occupants = self._occupants.load(member.jid, {occupant.nick: occupant for occupant in state.occupants})
        member.subject, member.subject_by = state.subject, state.subject_by

    async def _leave(self, key: tuple[str, str], full: str, room: str) -> None:
        member = self._members.get(key)
        if member is None or full not in member.resources:
            await self._forget(key[0], room, full)  # left before a restart brought it back: it is not brought back
            await self._fail_parked(key, "Not sent: you left the room before the gateway, restarted, could send it.")
            return
        self._presence(full, member.jid, member.nick, member.occupants.get(member.nick), ptype="unavailable",
                       codes=(110,))
        await self._drop_resource(key, member, full)

    async def _drop_resource(self, key: tuple[str, str], member: _Membership, full: str) -> None:
        """`full` is out of the room; the user leaves it (PART) with their last resource."""
        member.resources.discard(full)
        if member.resources:
            await self._forget(key[0], member.room, full)
            return
        del self._members[key]
        self._occupants.leave(member.jid)
        await self._forget(key[0], member.room)
        await self.rooms.leave_room(key[0], member.room)

    # -- messages from users ----------------------------------------------------------------------------------
    async def handle_message(self, stanza: Message) -> bool:
        """Take a groupchat message or an in-room private message; False when it is neither (not ours)."""
        to, sender = stanza["to"], stanza["from"]
        key = (str(sender.bare), str(to.bare))
        member = self._members.get(key)
        if stanza["type"] == "groupchat":
            if member is None or str(sender) not in member.resources:
                self._error_message(stanza, "not-acceptable", "You are not in this room; join it first.")
                return True
            await self._groupchat(stanza, member, key[0], sender.resource)
            return True
        if not to.resource or member is None:
            return False
        body = stanza["body"]
        if not body:
            return True
        try:
            await self.rooms.send_room_private(key[0], member.room, nick_of(to), body)
        except Refusal as refusal:
            self._error_message(stanza, refusal.condition, refusal.text)
        return True

    async def _groupchat(self, stanza: Message, member: _Membership, user: str, resource: str) -> None:
        body = stanza["body"]
        if not body:
            subject = stanza.xml.find("{jabber:component:accept}subject")
            if subject is not None:  # else a chat state or the like
                try:
                    await self.rooms.set_room_subject(user, member.room, subject.text or "")
                except Refusal as refusal:
                    self._error_message(stanza, refusal.condition, refusal.text)
            return
        # Journaled before it goes out (DESIGN: a message we accepted is written first). The journal writes of a
        # burst overlap (one group commit); the sends, reflections and errors keep the order of arrival.
        key = (user, member.jid)
        xmpp_id = stanza.xml.get("id")
        # Ours, stored with the message: its reflection and its copy in the room's archive carry the same one.
        stanza_id = new_id()
        previous, turn = self._send_order.take(key)
        try:
            await self.xmpp.router.submit_room(
                OutboundMessage(transport=self.xmpp.adapter.name, user=user, resource=resource or None,
                                peer=member.room, body=body, xmpp_id=xmpp_id or None, room=True,
                                room_nick=member.nick,
                                # no archive row where the room's archive is off: the reflection still has its id
                                stanza_id=stanza_id if self.rooms.room_archived(member.room) else None),
                lambda message: self.rooms.send_room_message(message.user, member.room, message.body),
                after=previous)
            origin = stanza.xml.find(f"{{{stanza_text.SID_NS}}}origin-id")
            self._reflect(member, body, xmpp_id, origin.get("id", "") if origin is not None else None, stanza_id)
        except Refusal as refusal:
            self._error_message(stanza, refusal.condition, refusal.text)
        except Exception:
            log.exception("%s: cannot take the room message %s from %s", self.xmpp.domain, xmpp_id, stanza["from"])
            self._error_message(stanza, "internal-server-error", "The gateway could not take this message.")
        finally:
            self._send_order.release(key, previous, turn)

    def _reflect(self, member: _Membership, body: str, xmpp_id: str | None, origin_id: str | None,
                 stanza_id: str) -> None:
        """Our own message, back to every joined resource with the client's ids and a stanza-id (XEP-0045 7.4)."""
        payload = ((stanza_text.origin_id(origin_id) if origin_id is not None else "")
                   + stanza_text.stanza_id(stanza_id, member.jid))
        sender = stanza_text.full_jid(member.jid, member.nick)
        for full in sorted(member.resources):
            self.xmpp.outbox.send(stanza_text.message(to=full, sender=sender, kind="groupchat", id=xmpp_id or "",
                                                       body=body, payload=payload))

    # -- journaled room messages (core.rooms.RoomDelivery) ---------------------------------------------------
    def deliver_room(self, message: InboundMessage, resumed: bool = False) -> asyncio.Future[None] | None:
        key = (message.user, self._room_jid(message.peer))
        member = self._members.get(key)
        if member is not None:
            return self._render(member, message)
        if not resumed:
            return None  # they left the room after the line arrived: nobody to show it to
        # Not in the room (the gateway restarted): shown, with its delay, when the user joins it again.
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._parked_in.setdefault(key, []).append((message, future))
        self._hold(key)
        return future

    def _render(self, member: _Membership, message: InboundMessage) -> asyncio.Future[None]:
        # The journal's id as the stanza-id: a redelivery has the same one.
        futures = self._show(member, message.room_nick, message.body, message.room_private, message.xmpp_id or "",
                             message.timestamp)
        return futures[0] if len(futures) == 1 else _all(futures)

    def _show(self, member: _Membership, nick: str | None, body: str, private: bool, id: str,
              timestamp: datetime | None) -> list[asyncio.Future[None]]:
        """A message in the room (from `nick`, or the room itself) to every joined resource of its member.

        A group-chat line carries `id` as its stanza-id only (the room announces urn:xmpp:sid:0, and clients refer to
        room messages by it): the same value in an id attribute as well made Prosody route about a sixth fewer of
        them (the benchmark's server-ceiling component with and without it). An in-room private message, which has
        no stanza-id, carries it as its id."""
        sender = stanza_text.full_jid(member.jid, nick or "")
        payload = stanza_text.MUC_USER_X if private else stanza_text.stanza_id(id, member.jid)
        if timestamp is not None:
            payload += stanza_text.delay(timestamp)
        kind, id_attribute = ("chat", id) if private else ("groupchat", None)
        return [self.xmpp.outbox.send(stanza_text.message(to=full, sender=sender, kind=kind, id=id_attribute,
                                                           body=body, payload=payload))
                for full in sorted(member.resources)]

    def resume_room(self, message: OutboundMessage) -> None:
        key = (message.user, self._room_jid(message.peer))
        member = self._members.get(key)
        self._parked_out.setdefault(key, []).append(message)
        if member is not None:
            self._tasks.spawn(self._unpark(key, member))
        else:
            self._hold(key)

    def _hold(self, key: tuple[str, str]) -> None:
        if key not in self._hold_timers:
            self._hold_timers[key] = asyncio.get_running_loop().call_later(self.resume_hold, self._hold_expired, key)

    def _hold_expired(self, key: tuple[str, str]) -> None:
        self._hold_timers.pop(key, None)
        for _, future in self._parked_in.pop(key, []):
            future.cancel()  # still pending in the journal: the next start tries again
        minutes = f"{self.resume_hold / 60:g} minute(s)"
        self._tasks.spawn(self._fail_parked(key, f"Not sent: you did not join the room again within {minutes} of the "
                                                 "gateway's restart."))

    async def _fail_parked(self, key: tuple[str, str], text: str) -> None:
        timer = self._hold_timers.pop(key, None) if key not in self._parked_in else None
        if timer is not None:
            timer.cancel()
        for message in self._parked_out.pop(key, []):
            await self.xmpp.router.outcome(Outcome(message, Status.FAILED, error_condition="recipient-unavailable",
                                                   error_text=text))

    async def _unpark(self, key: tuple[str, str], member: _Membership) -> None:
        """The user is in the room again: what an earlier run journaled for it, in, then out."""
        timer = self._hold_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        for inbound, future in self._parked_in.pop(key, []):
            rendered = self._render(member, inbound)
            rendered.add_done_callback(functools.partial(_chain, target=future))
        previous, turn = self._send_order.take(key)
        try:
            if previous is not None:
                await asyncio.shield(previous)
            for message in self._parked_out.pop(key, []):
                try:
                    await self.xmpp.router.send_room(
                        message, lambda m: self.rooms.send_room_message(m.user, member.room, m.body))
                except Refusal as refusal:
                    self._error_to(message, member.jid, refusal.condition, refusal.text)
                    continue
                except Exception:
                    log.exception("%s: resuming the room message %s failed", self.xmpp.domain, message.journal_id)
                    self._error_to(message, member.jid, "internal-server-error",
                                   "The gateway could not send this message.")
                    continue
                self._reflect(member, message.body, message.xmpp_id, None, message.stanza_id or new_id())
        finally:
            self._send_order.release(key, previous, turn)

    def _error_to(self, message: OutboundMessage, room_jid: str, condition: ErrorCondition, text: str) -> None:
        to = f"{message.user}/{message.resource}" if message.resource else message.user
        reply = bounce(self.xmpp, "message", id=message.xmpp_id, to=to, sender=room_jid, condition=condition,
                       text=text, etype="wait" if condition == "resource-constraint" else "cancel")
        if reply is not None:
            self.xmpp.outbox.send(reply)

    # -- the room's side (core.rooms.RoomSink) ---------------------------------------------------------------
    def room_message(self, user: str, message: RoomMessage) -> None:
        member = self._membership(user, message.room)
        if member is None:
            return
        self._show(member, message.nick, message.body, message.private, new_id(), message.timestamp)

    def subject_changed(self, user: str, room: str, subject: str, by: str | None) -> None:
        member = self._membership(user, room)
        if member is None:
            return
        member.subject, member.subject_by = subject, by
        for full in sorted(member.resources):
            self._subject(full, member)

    def occupant_joined(self, user: str, room: str, occupant: Occupant) -> None:
        self.occupant_changed(user, room, occupant)

    def occupant_changed(self, user: str, room: str, occupant: Occupant) -> None:
        member = self._membership(user, room)
        if member is None:
            return
        member.occupants = self._occupants.change(member.jid, member.occupants, added=((occupant.nick, occupant),))
        own = occupant.nick == member.nick
        for full in sorted(member.resources):
            self._presence(full, member.jid, occupant.nick, occupant, codes=(110,) if own else ())

    def occupant_left(self, user: str, room: str, nick: str, reason: str | None = None, *,
                      kicked_by: str | None = None) -> None:
        member = self._membership(user, room)
        if member is None:
            return
        occupant = member.occupants.get(nick)
        member.occupants = self._occupants.change(member.jid, member.occupants, removed=(nick,))
        for full in sorted(member.resources):
            self._presence(full, member.jid, nick, occupant, ptype="unavailable",
                           codes=(307,) if kicked_by else (), actor=kicked_by, reason=reason)

    def nick_changed(self, user: str, room: str, old: str, new: str) -> None:
        member = self._membership(user, room)
        if member is None:
            return
        own = old == member.nick
        occupant = member.occupants.get(old) or Occupant(old)
        renamed = Occupant(new, occupant.role, occupant.affiliation, occupant.show, occupant.status)
        member.occupants = self._occupants.change(member.jid, member.occupants, removed=(old,),
                                                  added=((new, renamed),))
        if own:
            member.nick = new
            self._tasks.spawn(self._renamed(user, member.room, new))
        codes = (110,) if own else ()
        for full in sorted(member.resources):
            self._presence(full, member.jid, old, occupant, ptype="unavailable", codes=(303, *codes), new_nick=new)
            self._presence(full, member.jid, new, renamed, codes=codes)

    def removed(self, user: str, room: str, reason: str, *, kicked_by: str | None = None) -> None:
        key = (user, self._room_jid(room))
        member = self._members.pop(key, None)
        if member is None:
            return
        self._occupants.leave(member.jid)
        self._tasks.spawn(self._forget(user, member.room))
        codes = (110, 307) if kicked_by else (110, 333)
        for full in sorted(member.resources):
            self._presence(full, member.jid, member.nick, member.occupants.get(member.nick), ptype="unavailable",
                           codes=codes, actor=kicked_by, reason=reason)

    def user_left(self, user: str, reason: str) -> None:
        """Everything of the user goes: their rooms (each shown as left), and what waits for them to rejoin one."""
        for member in [member for (jid, _), member in self._members.items() if jid == user]:
            self.removed(user, member.room, reason)
        for key in {key for key in (*self._parked_in, *self._parked_out, *self._hold_timers) if key[0] == user}:
            timer = self._hold_timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            for _, future in self._parked_in.pop(key, []):
                future.cancel()  # still pending in the journal, as after a hold that ran out
            self._tasks.spawn(self._fail_parked(key, f"Not sent: {reason}"))

    def rejoined(self, user: str, state: RoomState) -> None:
        member = self._membership(user, state.room)
        if member is None:
            return
        gone = set(member.occupants) - {occupant.nick for occupant in state.occupants}
        for nick in gone:
            for full in sorted(member.resources):
                self._presence(full, member.jid, nick, member.occupants[nick], ptype="unavailable")
        self._load(member, state)
        for full in sorted(member.resources):
            self._show_room(full, member)

    def contact_presence(self, user: str, peer: str, available: bool, show: Show = None,
                         status: str | None = None) -> None:
        presence = self.xmpp.make_presence(pfrom=peer_jid(peer, self.xmpp.domain), pto=user,
                                           ptype=None if available else "unavailable")
        if available and show:
            presence["show"] = show
        if status:
            presence["status"] = status
        presence.send()

    def notice(self, user: str, source: str, text: str) -> None:
        message = self.xmpp.make_message(mto=user, mfrom=peer_jid(source, self.xmpp.domain), mbody=text,
                                         mtype="chat")
        self.xmpp.outbox.send(message)

    async def _renamed(self, user: str, room: str, nick: str) -> None:
        if self._stored is not None:
            await self._write(self._stored.renamed(self.xmpp.adapter.name, user, room, nick), user, room)

    async def stop(self, timeout: float = 5.0) -> None:
        """Tell occupants (332), then let presences being handled finish; what is still waiting on the network
        after `timeout` s (a join the server never answers) is cancelled, so that a stop never hangs."""
        self._shut_down()
        cancelled = await self._tasks.close(grace=timeout)
        if cancelled:
            log.warning("%s: %d room task(s) still waiting at stop; cancelled", self.xmpp.domain, cancelled)


def _all(futures: list[asyncio.Future[None]]) -> asyncio.Future[None]:
    """One future for several stanzas: done when all are, failed (or cancelled) if any is."""
    gathered = asyncio.gather(*futures)
    result: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    gathered.add_done_callback(lambda g: _chain(g, result))
    return result


def _chain(source: asyncio.Future[Any], target: asyncio.Future[None]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(None)
