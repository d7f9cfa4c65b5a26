"""What a kill -9 of the gateway repeats: a flood in one direction, the process killed in its middle, started again
on the same database, and what the far side received twice counted.

- IRC->XMPP: an IRC user floods a channel; the XMPP member counts room messages by stanza-id (the journal's id).
- SMS webhooks->XMPP: signed webhooks at a steady rate; the user counts texts by message id (the journal's id).
- XMPP->IRC: the XMPP member floods the room; the IRC observer counts lines by their text (IRC has no ids).

"Lost" is what the gateway accepted (journaled, or a webhook answered 200) that never arrived; what it had read but
not yet journaled when it died is not counted (neither side was told it was taken).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

import aiohttp
from sqlalchemy import Table, select

from bench.irc_load import RawIrcLoad
from bench.paths import join_room, leave_room
from bench.sms_load import WebhookPoster
from bench.stack import GatewaySettings, Process, Stack
from bench.xmpp_load import CLIENT_NS, RawXmppClient, body_of, message_xml
from gateway.config import normalize_database_url
from gateway.core.events import Direction
from gateway.store.database import create_engine
from gateway.store.models import JournalEntry
from gateway.transports.sms.sandbox import SmsSandbox

J = cast(Table, JournalEntry.__table__)

SID = "{urn:xmpp:sid:0}stanza-id"


@dataclass(frozen=True)
class CrashResult:
    sent: int  # lines or texts offered
    accepted: int  # journaled (or answered 200) by either run
    before_kill: int  # distinct deliveries seen before the kill
    received: int  # distinct deliveries seen in all
    repeated: int  # deliveries seen again (same id, or same text on IRC)
    lost: int  # accepted, never seen

    def describe(self) -> str:
        return (f"{self.sent} offered, {self.accepted} accepted, {self.before_kill} received before the kill, "
                f"{self.received} in all, {self.repeated} received twice, {self.lost} lost")


class Counted:
    """Deliveries by key; `middle` is set once `middle_at` distinct keys were seen (the moment to kill)."""

    def __init__(self, middle_at: int) -> None:
        self.times: collections.Counter[str] = collections.Counter()
        self.middle_at = middle_at
        self.middle = asyncio.Event()
        self.last = time.monotonic()

    def add(self, key: str) -> None:
        self.times[key] += 1
        self.last = time.monotonic()
        if len(self.times) >= self.middle_at:
            self.middle.set()

    @property
    def repeated(self) -> int:
        return sum(n - 1 for n in self.times.values())


def stanza_key(elem: ET.Element, tag: str) -> str | None:
    """A delivery of the flood tagged `tag`: the stanza-id of a room message, else the message's id."""
    if elem.tag != CLIENT_NS + "message" or not (body_of(elem) or "").startswith(tag):
        return None
    sid = elem.find(SID)
    return sid.get("id") if sid is not None else elem.get("id")


class Killable(Protocol):
    """The gateway as a process of its own on one database: started (until connected), killed with SIGKILL, started
    again, stopped."""

    database_url: str

    async def start(self) -> None: ...

    async def kill(self) -> None: ...

    async def stop(self) -> None: ...


class BenchGateway:
    """The benchmark's gateway process (bench.stack) as a Killable."""

    def __init__(self, stack: Stack, settings: GatewaySettings, name: str) -> None:
        self.stack, self.settings, self.name = stack, settings, name
        self.database_url = settings.database_url or stack.sqlite_url
        self.process: Process | None = None

    async def start(self) -> None:
        self.process, _ = await self.stack.start_gateway(self.settings, name=self.name)

    async def kill(self) -> None:
        assert self.process is not None and self.process.proc is not None
        self.process.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.proc.wait)
        await self.stop()

    async def stop(self) -> None:
        if self.process is not None:
            self.stack.stop(self.process)
            self.process = None


async def journaled(url: str, transport: str, direction: Direction, user: str, tag: str) -> dict[str, str]:
    """xmpp id (inbound) or body (outbound) -> status, of the journal rows of this flood. Only columns every
    schema revision has: a baseline's gateway (--baseline) writes a journal of its own, older revision."""
    engine = create_engine(normalize_database_url(url))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(J.c.xmpp_id, J.c.body, J.c.status).where(
                J.c.transport == transport, J.c.user_jid == user, J.c.direction == direction.value))).all()
    finally:
        await engine.dispose()
    return {(r.body if direction is Direction.OUT else r.xmpp_id or ""): r.status
            for r in rows if r.body.startswith(tag)}


async def settle(counted: Counted, done: Callable[[], Awaitable[bool]], quiet: float = 2.0,
                 timeout: float = 60.0) -> None:
    """Until `done()` and nothing new arrived for `quiet` seconds (late copies would show), or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if time.monotonic() - counted.last >= quiet and await done():
            return
        await asyncio.sleep(0.25)


async def irc_to_xmpp(gateway: Killable, client: RawXmppClient, observer: RawIrcLoad, room: str, channel: str,
                      lines: int = 2000) -> CrashResult:
    """An IRC flood into a channel the XMPP user is in; kill -9 once half of it reached the user."""
    await gateway.start()
    tag = f"in{secrets.token_hex(3)}-"
    counted = Counted(lines // 2)

    def on_stanza(elem: ET.Element) -> None:
        if (key := stanza_key(elem, tag)) is not None:
            counted.add(key)

    await observer.join(channel)
    await join_room([client], room, observer, channel)
    client.on_stanza = on_stanza
    try:
        for n in range(lines):
            observer.privmsg(channel, f"{tag}{n}")
        await observer.drain()
        await asyncio.wait_for(counted.middle.wait(), 60)
        await gateway.kill()
        before = len(counted.times)
        await gateway.start()  # brings the user back into the room

        async def all_in() -> bool:
            rows = await journaled(gateway.database_url, "irc", Direction.IN, client.bare, tag)
            return "pending" not in rows.values() and set(rows) <= set(counted.times)

        await settle(counted, all_in)
        rows = await journaled(gateway.database_url, "irc", Direction.IN, client.bare, tag)
    finally:
        client.on_stanza = None
        leave_room([client], room)
        observer.part(channel)
        await asyncio.sleep(0.5)
        await gateway.stop()
    return CrashResult(sent=lines, accepted=len(rows), before_kill=before, received=len(counted.times),
                       repeated=counted.repeated, lost=len(set(rows) - set(counted.times)))


async def xmpp_to_irc(gateway: Killable, client: RawXmppClient, observer: RawIrcLoad, room: str, channel: str,
                      lines: int = 2000) -> CrashResult:
    """The XMPP user floods the room; kill -9 once half of it reached the channel. IRC lines have no id: the
    observer counts them by their text."""
    await gateway.start()
    tag = f"out{secrets.token_hex(3)}-"
    counted = Counted(lines // 2)

    def on_privmsg(_source: str, target: str, text: str) -> None:
        if target.lower() == channel.lower() and text.startswith(tag):
            counted.add(text)

    await observer.join(channel)
    await join_room([client], room, observer, channel)
    observer.on_privmsg = on_privmsg
    try:
        for n in range(lines):
            client.send(message_xml(room, f"{tag}{n}", "groupchat"))
        await client.drain()
        await asyncio.wait_for(counted.middle.wait(), 60)
        await gateway.kill()
        before = len(counted.times)
        await gateway.start()

        async def all_out() -> bool:
            rows = await journaled(gateway.database_url, "irc", Direction.OUT, client.bare, tag)
            return "accepted" not in rows.values() and "sending" not in rows.values()

        await settle(counted, all_out)
        rows = await journaled(gateway.database_url, "irc", Direction.OUT, client.bare, tag)
    finally:
        observer.on_privmsg = None
        leave_room([client], room)
        observer.part(channel)
        await asyncio.sleep(0.5)
        await gateway.stop()
    return CrashResult(sent=lines, accepted=len(rows), before_kill=before, received=len(counted.times),
                       repeated=counted.repeated, lost=len(set(rows) - set(counted.times)))


class AcceptingPoster(WebhookPoster):
    """Signed webhooks; remembers the bodies answered 200 (stored by the gateway, so owed to the user)."""

    def __init__(self, sandbox: SmsSandbox, url: str) -> None:
        super().__init__(sandbox, url)
        self.accepted: set[str] = set()

    async def _post(self, params: dict[str, str]) -> None:
        headers = {"X-Twilio-Signature": self.sandbox.sign(self.url, params)}
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with self.session.post(self.url, data=params, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=15)) as response:
                await response.read()
                if response.status == 200:
                    self.accepted.add(params["Body"])
                    return
        self.failures += 1


async def sms_to_xmpp(gateway: Killable, sandbox: SmsSandbox, webhook_url: str, client: RawXmppClient,
                      user_number: str, contact: str, texts: int = 900, rate: float = 150.0) -> CrashResult:
    """Signed webhooks at `rate` per second (also while the gateway is down: those are refused, and Twilio would
    try the fallback URL); kill -9 once a third of them reached the user."""
    await gateway.start()
    tag = f"sms{secrets.token_hex(3)}-"
    counted = Counted(texts // 3)
    bodies: dict[str, str] = {}  # message id -> body

    def on_stanza(elem: ET.Element) -> None:
        if (key := stanza_key(elem, tag)) is not None:
            bodies[key] = body_of(elem) or ""
            counted.add(key)

    client.on_stanza = on_stanza
    poster = AcceptingPoster(sandbox, webhook_url)
    try:
        async def post_all() -> None:
            started = time.monotonic()
            for n in range(texts):
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                poster.post(contact, user_number, f"{tag}{n}")

        posting = asyncio.create_task(post_all())
        await asyncio.wait_for(counted.middle.wait(), 60)
        await gateway.kill()
        before = len(counted.times)
        await gateway.start()
        await posting
        await asyncio.gather(*poster.tasks, return_exceptions=True)

        async def all_in() -> bool:
            rows = await journaled(gateway.database_url, "sms", Direction.IN, client.bare, tag)
            return "pending" not in rows.values() and set(rows) <= set(counted.times)

        await settle(counted, all_in)
        rows = await journaled(gateway.database_url, "sms", Direction.IN, client.bare, tag)
    finally:
        client.on_stanza = None
        await poster.close()
        await gateway.stop()
    lost = len(poster.accepted - set(bodies.values()))
    return CrashResult(sent=texts, accepted=len(rows), before_kill=before, received=len(counted.times),
                       repeated=counted.repeated, lost=lost)
