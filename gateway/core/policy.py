"""Who may use a transport: admins always, then its members (users an admin added for it or who registered
with it), then the transport's access mode: closed (members only), allowlist (JID patterns), open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from cachetools import TTLCache

from gateway.core.events import Refusal
from gateway.core.ports import UserDirectory, UserRecord


@dataclass(frozen=True)
class AccessPolicy:
    mode: str  # closed | allowlist | open
    patterns: tuple[str, ...] = ()

    def matches(self, jid: str) -> bool:
        return any(fnmatchcase(jid, pattern.lower()) for pattern in self.patterns)


class AccessControl:
    # Users are read through a short cache: a change made by the CLI in another process must show within
    # 2 s, and a lookup per stanza would put the database on the hot path. Its entries expire (anyone on the
    # network can send from new JIDs: kept for good, they grew without end), and it holds at most CACHE_SIZE.
    CACHE_SECONDS = 1.0
    CACHE_SIZE = 100_000

    def __init__(self, users: UserDirectory, admins: frozenset[str], policies: Mapping[str, AccessPolicy],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._users = users
        self._admins = admins
        self._policies = policies
        self._cache: TTLCache[str, UserRecord | None] = TTLCache(self.CACHE_SIZE, self.CACHE_SECONDS, timer=clock)
        self._lookups: dict[str, asyncio.Future[UserRecord | None]] = {}

    @property
    def cached(self) -> int:
        """How many JIDs' records are cached now."""
        self._cache.expire()
        return len(self._cache)

    @property
    def config_admins(self) -> frozenset[str]:
        """The admins named in the config ([xmpp] admins), admins whatever the database says."""
        return self._admins

    @property
    def transports(self) -> tuple[str, ...]:
        """The configured transports' names."""
        return tuple(sorted(self._policies))

    def forget(self, jid: str) -> None:
        """Drop the cached record of `jid`: it changed here (registered, unregistered), so read it afresh."""
        self._cache.pop(jid, None)

    async def user(self, jid: str) -> UserRecord | None:
        try:
            # One reading of the clock: `in` then [] read it twice, and an entry that expired in between raised.
            return self._cache[jid]
        except KeyError:
            pass
        # Concurrent lookups of one JID share one query, and its waiters resume in the order they asked: a
        # burst of messages from one user keeps its order (separate queries could finish in any order).
        lookup = self._lookups.get(jid)
        if lookup is None:
            lookup = self._lookups[jid] = asyncio.ensure_future(self._users.get_user(jid))
            lookup.add_done_callback(lambda _: self._lookups.pop(jid, None))
        record = await asyncio.shield(lookup)
        self._cache[jid] = record
        return record

    async def is_admin(self, jid: str) -> bool:
        if jid in self._admins:
            return True
        record = await self.user(jid)
        return record is not None and record.enabled and record.is_admin

    async def check(self, jid: str, transport: str) -> None:
        """Return if `jid` may use `transport`; raise Refusal with a text saying why not."""
        if jid in self._admins:
            return  # the config's admins always pass: they must be able to repair the database
        refusal = self._verdict(jid, await self.user(jid), transport)
        if refusal is not None:
            raise refusal

    async def refused(self, jids: Collection[str], transport: str) -> dict[str, Refusal]:
        """Which of `jids` may no longer use `transport` (removed or disabled meanwhile, from any process), and why:
        one query for all of them, read afresh."""
        jids = [jid for jid in jids if jid not in self._admins]
        if not jids:
            return {}
        records = await self._users.get_users(jids)
        verdicts: dict[str, Refusal] = {}
        for jid in jids:
            record = self._cache[jid] = records.get(jid)
            refusal = self._verdict(jid, record, transport)
            if refusal is not None:
                verdicts[jid] = refusal
        return verdicts

    def _verdict(self, jid: str, record: UserRecord | None, transport: str) -> Refusal | None:
        if record is not None and not record.enabled:
            return Refusal("forbidden", "Your account on this gateway is disabled. Ask an admin to enable it.")
        if record is not None and (record.is_admin or transport in record.transports):
            return None
        policy = self._policies.get(transport, AccessPolicy("closed"))
        if policy.mode == "open" or (policy.mode == "allowlist" and policy.matches(jid)):
            return None
        if policy.mode == "allowlist":
            return Refusal("forbidden", f"{jid} is not allowed to use this gateway. Ask an admin to add you.")
        return Refusal("registration-required", f"{jid} is not a user of this gateway. Ask an admin to add you.")
