"""Mapped contacts in users' rosters: XEP-0356 privileged roster pushes, else presence subscriptions.

The database is the source of truth, and the CLI may change it from another process. What the component put
in each user's roster is recorded in the database too (store/roster.py), so a mapping removed while the
gateway was down is still taken out after a restart, and nothing already shown is sent again. Every change to
contacts leaves a change row; every POLL_INTERVAL seconds (and at once when a command here changed something,
`poke`) the component reads its transport's change rows, one indexed query that finds nothing on an idle
gateway, and brings only those users' rosters up to date. After each (re)connect, and every VERIFY_INTERVAL,
every user of the transport is compared.

- With the roster privilege (the server granted it for the user's domain, in XEP-0356 v0.3's namespace or v0.4's:
  privilege.py), an added or renamed contact is
  pushed with its name and group; a removed mapping is pushed with subscription "remove". For a user with
  nothing recorded (and at each verification) their roster is read first, so that nothing is pushed twice and
  an item the server lost is pushed again.
- Without it, the contact's JID asks the user for a presence subscription, carrying the name as a XEP-0172
  nick; a removed mapping sends unsubscribe and unsubscribed. (A group cannot travel that way.)

Only recorded items are ever removed: a roster item of the component's domain that the user added themselves
is not ours to delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from slixmpp import JID, ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout

from gateway.store.roster import ShownItem
from gateway.store.store import Store
from gateway.xmpp.addressing import peer_jid
from gateway.xmpp.privilege import Grants

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # the CLI's changes reach rosters within about this (DESIGN.md: 2 s)
PRIVILEGE_WAIT = 1.0  # after connecting, how long to wait for the server's XEP-0356 advertisement
PUSH_TIMEOUT = 10.0
VERIFY_INTERVAL = 300.0  # every user is compared this often (with the privilege, their roster is read)


Item = ShownItem  # a name and a group
Items = dict[str, Item]  # foreign address -> item


class RosterSync:
    def __init__(self, xmpp: ComponentXMPP, store: Store, transport: str) -> None:
        self.xmpp = xmpp
        self.store = store
        self.transport = transport
        self.grants = Grants(xmpp)
        self.privilege = self.grants.plugin  # slixmpp's xep_0356: privileged roster get and set
        self._mode: str | None = None  # the roster mode last logged
        self._full = True  # compare every user at the next pass (after connecting)
        self._stopping = False
        self._in_pass = False  # a comparison is under way: a stop lets it finish
        self.passes = 0  # comparisons completed, for whoever waits for one
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
        return self.grants.pushes(JID(user).domain)

    def mode(self) -> str:
        """How contacts reach rosters, in words for the operator."""
        granted = self.grants.by_server.values()
        pushes = [f"{g.namespace} from {g.server}" for g in granted if self.grants.pushes(g.server)]
        if pushes:
            return f"privileged pushes (XEP-0356 {', '.join(pushes)})"
        why = "; ".join(self.grants.why_not(g.server) for g in granted) or "the server granted no XEP-0356 access"
        return f"subscription requests ({why}: names travel as nicks, groups are lost; see deploy/)"

    def _log_mode(self) -> None:
        # Once at start, and again only when it changes (a server that restarted with another grant).
        mode = self.mode()
        if mode != self._mode:
            self._mode = mode
            failed = any(grant.sets_fail for grant in self.grants.by_server.values())
            log.log(logging.WARNING if failed else logging.INFO, "%s: roster mode: %s", self.domain, mode)

    async def stop(self, timeout: float = 5.0) -> None:
        """Let a comparison under way finish (what it pushed is recorded as shown: otherwise a mapping removed
        while the gateway is down would stay in the roster), then stop."""
        if self._task is not None:
            self._stopping = True
            if self._in_pass:  # between passes (or waiting for the grant) there is nothing to finish
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._task), timeout)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_privileges(self, _event: Any) -> None:
        if self._mode is not None:
            self._log_mode()  # advertised later than PRIVILEGE_WAIT, or after a reconnect
        self._advertised.set()
        self.poke()

    def _on_session_start(self, _event: Any) -> None:
        self._full = True
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
        self._log_mode()
        while not self._stopping:
            self._wake.clear()
            self._in_pass = True
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: roster comparison failed; retrying", self.domain)
            finally:
                self._in_pass = False
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)

    async def sync(self) -> None:
        """One pass: the users whose contacts changed (every user after connecting and when verifying)."""
        verify = time.monotonic() - self._verified_at >= VERIFY_INTERVAL
        full = self._full or verify
        roster = self.store.roster
        changes = await roster.changes(self.transport)  # read first: a change made after it stays for the next
        if not full and not changes.ids:
            self.passes += 1
            return
        users = (await roster.users(self.transport) | changes.users) if full else changes.users
        wanted = await roster.wanted(self.transport, users)
        shown = await roster.shown(self.transport, users)
        for user in sorted(users):  # one user's failure is theirs only; the next verifying pass tries again
            try:
                await self._bring(user, wanted.get(user, {}), shown.get(user), verify)
            except Exception:
                log.exception("%s: cannot bring the roster of %s up to date", self.domain, user)
        await roster.handled(changes.ids)
        self._full = False
        if verify:
            self._verified_at = time.monotonic()
        self.passes += 1

    async def _bring(self, user: str, want: Items, shown: Items | None, verify: bool) -> None:
        """Make `user`'s roster show `want`, given what was recorded as shown (None: nothing recorded)."""
        if not want and not shown:
            return
        if self.privileged(user) and want and (shown is None or verify):
            # Compare with the roster itself: nothing recorded is not pushed twice, and an item the server lost
            # (e.g. pushed before the account existed) comes back.
            present = await self._roster(user)
            changed = {a: item for a, item in want.items() if present.get(self._jid(a)) != item}
        else:
            changed = {a: item for a, item in want.items() if (shown or {}).get(a) != item}
        removed = set(shown or {}) - set(want)
        if changed or removed:
            await self._apply(user, changed, removed)
        if want != (shown or {}):
            await self.store.roster.record(self.transport, user, want)

    def _jid(self, address: str) -> str:
        return str(peer_jid(address, self.domain))

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
            changed, removed = await self._push(user, changed, removed)
        for address, item in changed.items():
            # XEP-0172: the name travels as the nick (make_presence's pnick; presence["nick"] is not the plugin).
            self.xmpp.make_presence(pfrom=self._jid(address), pto=user, ptype="subscribe", pnick=item.name).send()
        for address in removed:
            for ptype in ("unavailable", "unsubscribe", "unsubscribed"):
                self.xmpp.send_presence(pfrom=self._jid(address), pto=user, ptype=ptype)

    async def _push(self, user: str, changed: Items, removed: set[str]) -> tuple[Items, set[str]]:
        """Privileged roster sets, one item each (RFC 6121 2.3.3: ejabberd refuses more); returns what was not taken,
        to be asked by presence instead."""
        sets: list[tuple[str, dict[str, Any]]] = [
            (a, {"name": item.name, "subscription": "both", "groups": [item.group] if item.group else []})
            for a, item in changed.items()]
        sets += [(a, {"subscription": "remove"}) for a in sorted(removed)]
        left_changed: Items = {}
        left_removed: set[str] = set()
        for address, attributes in sets:
            if self.privileged(user) and await self._set(user, address, attributes):
                continue  # else the server failed this set or one before it: ask by presence
            if address in changed:
                left_changed[address] = changed[address]
            else:
                left_removed.add(address)
        if len(left_changed) + len(left_removed) < len(sets):
            log.info("%s: roster of %s: %d item(s) set, %d removed", self.domain, user,
                     len(changed) - len(left_changed), len(removed) - len(left_removed))
        return left_changed, left_removed

    async def _set(self, user: str, address: str, attributes: dict[str, Any]) -> bool:
        try:
            await self.privilege.set_roster(user, {self._jid(address): attributes}, timeout=PUSH_TIMEOUT)
            return True
        except IqError as error:
            if self._server_fault(user, error):
                return False
            failure: Exception = error
        except (IqTimeout, PermissionError) as error:
            failure = error
        log.warning("%s: privileged roster set of %s for %s failed (%s); asking by presence instead",
                    self.domain, address, user, failure)
        return False

    def _server_fault(self, user: str, error: IqError) -> bool:
        """A set the server itself could not handle: stop pushing to its users (until the next connection).

        ejabberd before 23.10 grants roster access and then fails every privileged set (processone/ejabberd#3942);
        a warning for each contact of each user would hide that.
        """
        condition = error.iq["error"]["condition"]
        if condition not in ("internal-server-error", "feature-not-implemented", "service-unavailable"):
            return False
        text = error.iq["error"]["text"]
        self.grants.sets_fail(JID(user).domain, f"{condition}{': ' + text if text else ''}")
        self._log_mode()
        return True
