"""A room's archive to its members: XEP-0313 (MAM) queries on room JIDs, and XEP-0045 history on join.

Both read gateway.store.archive: the user's own journal rows of the room, each under the stanza-id it was shown
with live, so that clients drop the second copy. Any user may query a room's archive, joined or not: they get
their own lines only, none when they never were in it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from slixmpp import JID, Iq
from slixmpp.plugins import xep_0082
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.plugins.xep_0059 import Set as RsmSet
from slixmpp.plugins.xep_0313.stanza import MAM, Fin
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from gateway.core.events import ErrorCondition
from gateway.core.rooms import RoomTransport
from gateway.store.archive import ArchivedLine, ArchivePage, ArchiveQuery, RoomArchive, UnknownId
from gateway.xmpp import stanza_text
from gateway.xmpp.addressing import nick_of, peer_of
from gateway.xmpp.bounce import answer_error
from gateway.xmpp.component import GatewayComponent

log = logging.getLogger(__name__)

MAM_NS = "urn:xmpp:mam:2"
FEATURES = (MAM_NS, f"{MAM_NS}#extended")
FORWARD_NS = "urn:xmpp:forward:0"
DEFAULT_PAGE, MAX_PAGE = 50, 250  # lines per MAM page, without and with the client's RSM max
MAX_HISTORY = 250  # lines of history on join, whatever the client asks
MAX_SECONDS = 100 * 365 * 86400  # a larger `seconds` of history asks for everything, and would overflow a date
_FIELDS = {"FORM_TYPE", "with", "start", "end", "before-id", "after-id"}


class BadQuery(ValueError):
    def __init__(self, condition: ErrorCondition, text: str) -> None:
        super().__init__(text)
        self.condition = condition
        self.text = text


class RoomArchiveService:
    """Answers MAM queries to room JIDs on `xmpp`, and gives joins their history."""

    def __init__(self, xmpp: GatewayComponent, rooms: RoomTransport, archive: RoomArchive,
                 spawn: Callable[[Awaitable[None]], Any]) -> None:
        self.xmpp = xmpp
        self.rooms = rooms
        self.archive = archive
        self._spawn = spawn
        register_stanza_plugin(Iq, MAM)
        register_stanza_plugin(MAM, Form)
        register_stanza_plugin(MAM, RsmSet)
        register_stanza_plugin(Iq, Fin)
        register_stanza_plugin(Fin, RsmSet)
        xmpp.register_handler(Callback("MAM", StanzaPath("iq/mam"), self._received))

    # -- XEP-0313 ---------------------------------------------------------------------------------------------
    def _received(self, stanza: StanzaBase) -> None:
        assert isinstance(stanza, Iq)
        if stanza["type"] not in ("get", "set"):
            return  # a result or an error is never answered
        to = stanza["to"]
        if not to.user or to.resource or self.rooms.room_name(peer_of(to)) is None:
            # A contact's or the service's: the user's own server archives what we deliver them.
            answer_error(self.xmpp, stanza, "service-unavailable", "Only rooms keep an archive here; your own "
                         "server keeps your one-to-one conversations.")
            return
        if stanza["type"] == "get":
            self._send_form(stanza)
            return
        self._spawn(self._query(stanza))

    def _send_form(self, iq: Iq) -> None:
        reply = iq.reply()
        form = reply["mam"]["form"]
        form["type"] = "form"
        form.add_field(var="FORM_TYPE", ftype="hidden", value=MAM_NS)
        form.add_field(var="with", ftype="jid-single", label="Said by (room/nick)")
        form.add_field(var="start", ftype="text-single", label="Since (XEP-0082)")
        form.add_field(var="end", ftype="text-single", label="Until (XEP-0082)")
        form.add_field(var="before-id", ftype="text-single")
        form.add_field(var="after-id", ftype="text-single")
        reply.send()

    async def _query(self, iq: Iq) -> None:
        user, room_jid = str(iq["from"].bare), str(iq["to"].bare)
        try:
            query, flip = self._parse(iq)
            # An admin turned the room's archive off: older rows it may still hold are not shown either.
            page = (await self.archive.page(query) if self.rooms.room_archived(query.room)
                    else ArchivePage([], True, 0))
        except BadQuery as bad:
            answer_error(self.xmpp, iq, bad.condition, bad.text, "modify" if bad.condition == "bad-request" else None)
            return
        except UnknownId as unknown:
            answer_error(self.xmpp, iq, "item-not-found", f"No message with the id {unknown.stanza_id!r} is in your "
                         "archive of this room.")
            return
        except Exception:
            log.exception("%s: the archive query of %s on %s failed", self.xmpp.domain, user, room_jid)
            answer_error(self.xmpp, iq, "internal-server-error", "The gateway could not read the archive.")
            return
        lines = list(reversed(page.lines)) if flip else page.lines
        query_id = iq["mam"]["queryid"] or None
        to = str(iq["from"])
        for line in lines:
            self.xmpp.outbox.send(_result(to, room_jid, query_id, line))
        reply = iq.reply()
        fin = reply["mam_fin"]
        fin["complete"] = "true" if page.complete else "false"
        if lines:
            fin["rsm"]["first"] = lines[0].stanza_id
            fin["rsm"]["last"] = lines[-1].stanza_id
        if page.count is not None:
            fin["rsm"]["count"] = str(page.count)
        if not len(fin["rsm"].xml):
            fin.xml.remove(fin["rsm"].xml)
        self.xmpp.outbox.send(reply)  # after the results, in the same order on the stream

    def _parse(self, iq: Iq) -> tuple[ArchiveQuery, bool]:
        """The query a MAM request asks, and whether the page is to be flipped (mam:2#extended)."""
        mam = iq["mam"]
        values: dict[str, str] = {}
        form = mam.xml.find("{jabber:x:data}x")
        if form is not None:
            for name, field in mam["form"].get_fields().items():
                if name not in _FIELDS:
                    raise BadQuery("bad-request", f"This archive has no field {name!r}: it takes with, start, end, "
                                   "before-id and after-id.")
                value = field["value"]
                if isinstance(value, list):  # a field without a type in a submitted form reads as a list
                    value = value[0] if len(value) == 1 else ""
                values[name] = value if isinstance(value, str) else str(value or "")
            if values.get("FORM_TYPE", MAM_NS) != MAM_NS:
                raise BadQuery("bad-request", f"The form's FORM_TYPE must be {MAM_NS}.")
        room_jid = iq["to"].bare
        nick = None
        if values.get("with"):
            try:
                with_jid = JID(values["with"])
            except Exception:
                raise BadQuery("bad-request", f"{values['with']!r} is no JID.") from None
            if with_jid.bare != room_jid:
                raise BadQuery("bad-request", "'with' names an occupant of this room: room@domain/nick.")
            nick = nick_of(with_jid) if with_jid.resource else None
        rsm = mam["rsm"]
        limit = DEFAULT_PAGE
        if rsm["max"]:
            try:
                limit = min(MAX_PAGE, int(rsm["max"]))
            except ValueError:
                raise BadQuery("bad-request", f"RSM max {rsm['max']!r} is no number.") from None
            if limit < 0:
                raise BadQuery("bad-request", "RSM max cannot be negative.")
        if rsm["index"]:
            raise BadQuery("feature-not-implemented", "This archive pages by id (after, before), not by index.")
        before = rsm["before"]
        after_ids = tuple(i for i in (values.get("after-id"), rsm["after"] or None) if i)
        before_ids = tuple(i for i in (values.get("before-id"), before if isinstance(before, str) else None) if i)
        query = ArchiveQuery(
            transport=self.xmpp.adapter.name, user=str(iq["from"].bare), room=peer_of(iq["to"]),
            start=_stamp(values.get("start"), "start"), end=_stamp(values.get("end"), "end"), nick=nick,
            after=after_ids, before=before_ids, backwards=before is not None, limit=limit)
        flip = mam.xml.find(f"{{{MAM_NS}}}flip-page") is not None
        return query, flip

    # -- XEP-0045 7.2.15: history on join ---------------------------------------------------------------------
    async def history(self, user: str, full: str, room: str, room_jid: str, request: ET.Element | None,
                      default: int) -> list[str]:
        """The history a join asks for (`request`: its <history/>; None: `default` lines), as stanzas to `full`,
        oldest first. Nothing when the archive cannot be read (the join goes on)."""
        asked = _history_request(request, default)
        if asked is None or not self.rooms.room_archived(room):
            return []
        limit, since, max_chars = asked
        try:
            page = await self.archive.page(ArchiveQuery(transport=self.xmpp.adapter.name, user=user, room=room,
                                                        start=since, backwards=True, limit=limit, count=False))
        except Exception:
            log.exception("%s: cannot read the history of %s for %s", self.xmpp.domain, room, user)
            return []
        stanzas = [_history_line(full, room_jid, line) for line in page.lines]
        if max_chars is not None:
            kept, total = [], 0
            for stanza in reversed(stanzas):  # the newest lines fit first
                total += len(stanza)
                if total > max_chars:
                    break
                kept.append(stanza)
            stanzas = kept[::-1]
        return stanzas


def _history_request(request: ET.Element | None, default: int) -> tuple[int, datetime | None, int | None] | None:
    """(lines, since, characters) a <history/> element asks for; None for none. A value that is no number is
    ignored, as if not given."""
    if request is None:
        return (min(default, MAX_HISTORY), None, None) if default > 0 else None

    def number(name: str) -> int | None:
        try:
            value = int(request.get(name, ""))
        except ValueError:
            return None
        return value if value >= 0 else None

    max_stanzas, seconds, max_chars = number("maxstanzas"), number("seconds"), number("maxchars")
    since = None
    if request.get("since"):
        try:
            since = xep_0082.parse(request.get("since", ""))
        except ValueError:
            since = None
    if seconds is not None:
        seconds = min(seconds, MAX_SECONDS)
        by_seconds = datetime.now(UTC) - timedelta(seconds=seconds)
        since = by_seconds if since is None else max(since, by_seconds)
    if max_stanzas == 0 or max_chars == 0:
        return None
    limit = min(max_stanzas if max_stanzas is not None else (default if since is None else MAX_HISTORY), MAX_HISTORY)
    return (limit, since, max_chars) if limit > 0 else None


def _stamp(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        stamp = xep_0082.parse(value)
    except ValueError:
        raise BadQuery("bad-request", f"{name} {value!r} is no XEP-0082 date and time "
                       "(e.g. 2024-05-01T12:00:00Z).") from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _result(to: str, room_jid: str, query_id: str | None, line: ArchivedLine) -> str:
    """One archived line as a MAM result (XEP-0313 4.2), written as text like the room's live lines."""
    attribute = stanza_text.attribute
    sender = stanza_text.full_jid(room_jid, line.nick)
    body = f"<body>{stanza_text.text(line.body)}</body>" if line.body else ""
    query = f" queryid={attribute(query_id)}" if query_id is not None else ""
    return (f"<message to={attribute(to)} from={attribute(room_jid)}>"
            f'<result xmlns="{MAM_NS}"{query} id={attribute(line.stanza_id)}>'
            f'<forwarded xmlns="{FORWARD_NS}">{stanza_text.delay(line.at)}'
            f'<message xmlns="jabber:client" type="groupchat" from={attribute(sender)}>{body}'
            f"</message></forwarded></result></message>")


def _history_line(to: str, room_jid: str, line: ArchivedLine) -> str:
    """A line of history on join: as it was shown live (same stanza-id), with a delay from the room."""
    payload = stanza_text.stanza_id(line.stanza_id, room_jid) + stanza_text.delay(line.at, room_jid)
    return stanza_text.message(to=to, sender=stanza_text.full_jid(room_jid, line.nick), kind="groupchat", id=None,
                               body=line.body, payload=payload)
