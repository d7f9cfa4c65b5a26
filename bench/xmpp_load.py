"""A minimal XMPP client on asyncio streams: SASL PLAIN, bind, presence, raw stanzas out, parsed stanzas in.

slixmpp's per-stanza cost (matchers, stanza objects, plugins) would make the load generator the bottleneck at a
few thousand stanzas/s; expat through XMLPullParser keeps the client side well above what is measured.
Loopback only, no TLS (the benchmark's Prosody allows plain authentication there).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

from bench.streams import StanzaSplitter, close_stream
from gateway.devstack.ports import LOOPBACK

CLIENT_NS = "{jabber:client}"
SASL_NS = "{urn:ietf:params:xml:ns:xmpp-sasl}"
MUC_USER_NS = "{http://jabber.org/protocol/muc#user}"
STREAM_HEADER = ("<?xml version='1.0'?><stream:stream to={to} xmlns='jabber:client'"
                 " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")

StanzaHandler = Callable[[ET.Element], None]
_ids = itertools.count()


def message_xml(to: str, body: str, mtype: str = "chat") -> str:
    return f"<message to={quoteattr(to)} type='{mtype}' id='b{next(_ids)}'><body>{escape(body)}</body></message>"


class RawXmppClient:
    """One account's stream. Received top-level stanzas go to `on_stanza` (after the internal waiters)."""

    def __init__(self, user: str, domain: str, password: str, resource: str = "bench") -> None:
        self.user, self.domain, self.password, self.resource = user, domain, password, resource
        self.jid = f"{user}@{domain}/{resource}"
        self.on_stanza: StanzaHandler | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stream = StanzaSplitter(self._dispatch)
        self._waiters: list[tuple[Callable[[ET.Element], bool], asyncio.Future[ET.Element]]] = []
        self._read_task: asyncio.Task[None] | None = None

    @property
    def bare(self) -> str:
        return f"{self.user}@{self.domain}"

    # -- stream ---------------------------------------------------------------------------------------------

    async def login(self, port: int, timeout: float = 30) -> None:
        await asyncio.wait_for(self._login(port), timeout)

    async def _login(self, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(LOOPBACK, port)
        self._read_task = asyncio.create_task(self._read_loop(), name=f"xmpp-{self.user}")
        features = self.expect(lambda e: e.tag.endswith("}features"))
        self.send(STREAM_HEADER.format(to=quoteattr(self.domain)))
        await features
        token = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        outcome = self.expect(lambda e: e.tag in (SASL_NS + "success", SASL_NS + "failure"))
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        if (await outcome).tag != SASL_NS + "success":
            raise ConnectionError(f"{self.bare}: authentication failed")
        self._stream.restart()  # the stream restarts after SASL
        features = self.expect(lambda e: e.tag.endswith("}features"))
        self.send(STREAM_HEADER.format(to=quoteattr(self.domain)))
        await features
        await self.iq("set", None, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                      f"<resource>{escape(self.resource)}</resource></bind>")
        self.send("<presence/>")

    async def _read_loop(self) -> None:
        assert self._reader is not None
        while chunk := await self._reader.read(262144):
            self.feed(chunk)

    def feed(self, data: bytes) -> None:
        """Parse received bytes; every complete top-level stanza is handed out."""
        self._stream.feed(data)

    def _dispatch(self, elem: ET.Element) -> None:
        if self._waiters:
            for entry in list(self._waiters):
                if entry[0](elem):
                    self._waiters.remove(entry)
                    if not entry[1].done():
                        entry[1].set_result(elem)
                    return
        if self.on_stanza is not None:
            self.on_stanza(elem)

    def expect(self, predicate: Callable[[ET.Element], bool]) -> asyncio.Future[ET.Element]:
        """A future for the next stanza that matches (registered before the request that causes it is sent)."""
        future: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    def send(self, data: str) -> None:
        assert self._writer is not None
        self._writer.write(data.encode())

    async def drain(self) -> None:
        assert self._writer is not None
        await self._writer.drain()

    async def iq(self, itype: str, to: str | None, payload: str, timeout: float = 20) -> ET.Element:
        """Send an IQ and wait for its result; ConnectionError on an error answer."""
        iq_id = f"q{next(_ids)}"
        answer = self.expect(lambda e: e.tag == CLIENT_NS + "iq" and e.get("id") == iq_id)
        target = f" to={quoteattr(to)}" if to else ""
        self.send(f"<iq type='{itype}' id='{iq_id}'{target}>{payload}</iq>")
        result = await asyncio.wait_for(answer, timeout)
        if result.get("type") != "result":
            raise ConnectionError(f"{self.bare}: iq to {to} failed: {ET.tostring(result)[:300]!r}")
        return result

    async def join_muc(self, room: str, nick: str, timeout: float = 30) -> None:
        """Join a room (no history) and wait for our own presence (status 110) or fail on an error presence."""
        def own(e: ET.Element) -> bool:
            if e.tag != CLIENT_NS + "presence" or not (e.get("from") or "").startswith(room + "/"):
                return False
            if e.get("type") == "error":
                return True
            return any(s.get("code") == "110" for s in e.iter(MUC_USER_NS + "status"))

        joined = self.expect(own)
        self.send(f"<presence to={quoteattr(room + '/' + nick)}><x xmlns='http://jabber.org/protocol/muc'>"
                  "<history maxstanzas='0'/></x></presence>")
        presence = await asyncio.wait_for(joined, timeout)
        if presence.get("type") == "error":
            raise ConnectionError(f"{self.bare} could not join {room}: {ET.tostring(presence)[:300]!r}")

    def leave_muc(self, room: str, nick: str) -> None:
        self.send(f"<presence type='unavailable' to={quoteattr(room + '/' + nick)}/>")

    async def close(self) -> None:
        await close_stream(self._writer, b"<presence type='unavailable'/></stream:stream>", self._read_task)


def body_of(elem: ET.Element) -> str | None:
    """The <body/> text of a message stanza, if any."""
    body = elem.find(CLIENT_NS + "body")
    return body.text if body is not None else None


async def login_all(clients: list[RawXmppClient], port: int, parallel: int = 50) -> None:
    """Log many clients in, `parallel` at a time (Prosody hashes each PLAIN password)."""
    gate = asyncio.Semaphore(parallel)

    async def one(client: RawXmppClient) -> None:
        async with gate:
            await client.login(port)

    await asyncio.gather(*(one(c) for c in clients))
