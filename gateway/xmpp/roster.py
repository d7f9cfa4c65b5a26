"""Mapped contacts in users' rosters: XEP-0356 privileged roster pushes, else presence subscriptions.

The database is the source of truth, and the CLI may change it from another process, so the component compares
what it wants in each user's roster (their contacts on this transport) with what it has put there, every
POLL_INTERVAL seconds and at once when a command here changed something (`poke`). What was put there is kept
in memory, per stream: after a (re)connect the comparison starts afresh.

- With the roster privilege (the server granted it for the user's domain), an added or renamed contact is
  pushed with its name and group; a removed mapping is pushed with subscription "remove". On the first pass for
  a user (and every VERIFY_INTERVAL) their roster is read, so that a restart does not push what is already
  there and an item the server lost is pushed again.
- Without it, the contact's JID asks the user for a presence subscription, carrying the name as a XEP-0172
  nick; a removed mapping sends unsubscribe and unsubscribed. (A group cannot travel that way.)

Only mappings this process has seen are ever removed: a roster item of the component's domain that the user
added themselves is not ours to delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from slixmpp import JID, ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.xep_0356.permissions import Permissions, RosterAccess

from gateway.store.store import Store
from gateway.xmpp.addressing import peer_jid

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # the CLI's changes reach rosters within about this (DESIGN.md: 2 s)
PRIVILEGE_WAIT = 1.0  # after connecting, how long to wait for the server's XEP-0356 advertisement
PUSH_TIMEOUT = 10.0
VERIFY_INTERVAL = 300.0  # with the privilege, rosters are read again this often and missing items pushed


@dataclass(frozen=True)
class Item:
    name: str
    group: str | None


Items = dict[str, Item]  # contact JID -> item


class RosterSync:
    def __init__(self, xmpp: ComponentXMPP, store: Store, transport: str) -> None:
        self.xmpp = xmpp
        self.store = store
        self.transport = transport
        xmpp.register_plugin("xep_0356")
        self.privilege = xmpp.plugin["xep_0356"]
        # The plugin keeps grants in a dict shared by every instance in the process: a component the server did
        # not privilege would believe it was. Each component gets its own.
        self.privilege.granted_privileges = defaultdict(Permissions)  # type: ignore[misc]
        self._shown: dict[str, Items] = {}  # user -> the mapped items this stream put in their roster
        self._wake = asyncio.Event()
        self._advertised = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._verified_at = time.monotonic()
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.add_event_handler("privileges_advertised", self._on_privileges)

    @property
    def domain(self) -> str:
        return str(self.xmpp.boundjid.bare)

    def poke(self) -> None:
        """Compare now (a command changed contacts)."""
        self._wake.set()

    def privileged(self, user: str) -> bool:
        perms = self.privilege.granted_privileges.get(JID(user).domain)
        return perms is not None and perms.roster == RosterAccess.BOTH

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_privileges(self, _event: Any) -> None:
        self._advertised.set()
        self.poke()

    def _on_session_start(self, _event: Any) -> None:
        self._shown.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"roster-{self.domain}")

    def _on_disconnected(self, _event: Any) -> None:
        self._advertised.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        with contextlib.suppress(TimeoutError):  # no XEP-0356 grant: presence subscriptions
            await asyncio.wait_for(self._advertised.wait(), PRIVILEGE_WAIT)
        while True:
            self._wake.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: roster comparison failed; retrying", self.domain)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)

    async def wanted(self) -> dict[str, Items]:
        """Each user's contacts on this transport, as roster items (users without any are left out)."""
        wanted: dict[str, Items] = {}
        for contact in await self.store.contacts.find(None, self.transport):
            wanted.setdefault(contact.jid, {})[str(peer_jid(contact.address, self.domain))] = Item(contact.name,
                                                                                                 contact.group)
        return wanted

    async def sync(self) -> None:
        wanted = await self.wanted()
        verify = time.monotonic() - self._verified_at >= VERIFY_INTERVAL
        if verify:
            self._verified_at = time.monotonic()
        for user in sorted(set(wanted) | set(self._shown)):
            want = wanted.get(user, {})
            shown = self._shown.get(user)
            if shown is None and not want:
                continue
            if shown is None or (verify and self.privileged(user)):
                # Compare with the roster itself: after a restart nothing is pushed twice, and an item the server
                # lost (e.g. pushed before the account existed) comes back.
                present = await self._roster(user) if self.privileged(user) else {}
                changed = {jid: item for jid, item in want.items() if present.get(jid) != item}
            else:
                changed = {jid: item for jid, item in want.items() if shown.get(jid) != item}
            removed = set(shown or {}) - set(want)
            if changed or removed:
                await self._apply(user, changed, removed)
            if want:
                self._shown[user] = dict(want)
            else:
                self._shown.pop(user, None)

    async def _roster(self, user: str) -> Items:
        """The items of this component's domain in a user's roster (privileged get)."""
        try:
            iq = await self.privilege.get_roster(user, timeout=PUSH_TIMEOUT)
        except (IqError, IqTimeout, PermissionError) as error:
            log.warning("%s: cannot read the roster of %s: %s", self.domain, user, error)
            return {}
        items: Items = {}
        for jid, item in iq["roster"]["items"].items():
            if JID(jid).domain == self.domain:
                groups = item.get("groups") or []
                items[str(JID(jid).bare)] = Item(item.get("name") or "", groups[0] if groups else None)
        return items

    async def _apply(self, user: str, changed: Items, removed: set[str]) -> None:
        if self.privileged(user):
            items: dict[str, dict[str, Any]] = {
                jid: {"name": item.name, "subscription": "both", "groups": [item.group] if item.group else []}
                for jid, item in changed.items()}
            items.update({jid: {"subscription": "remove"} for jid in removed})
            try:
                await self.privilege.set_roster(user, items, timeout=PUSH_TIMEOUT)
                log.info("%s: roster of %s: %d item(s) set, %d removed", self.domain, user, len(changed),
                         len(removed))
                return
            except (IqError, IqTimeout, PermissionError) as error:
                log.warning("%s: privileged roster push to %s failed (%s); asking by presence instead",
                            self.domain, user, error)
        for jid, item in changed.items():
            # XEP-0172: the name travels as the nick (make_presence's pnick; presence["nick"] is not the plugin).
            self.xmpp.make_presence(pfrom=jid, pto=user, ptype="subscribe", pnick=item.name).send()
        for jid in removed:
            for ptype in ("unavailable", "unsubscribe", "unsubscribed"):
                self.xmpp.send_presence(pfrom=jid, pto=user, ptype=ptype)
