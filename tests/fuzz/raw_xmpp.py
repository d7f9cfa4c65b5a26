"""A raw XMPP client for the fuzz suite: one plain stream, SASL PLAIN, bind, and exactly the bytes it is given.

slixmpp would build stanza objects from what the gateway sends back (bounces of 2,000-level trees included) and
rewrite what we send; here every received top-level element is parsed by expat and kept as an ElementTree
element, and `send_raw` writes what it is handed. IQ answers are counted per id, so that a test can
tell an IQ that got no answer, or two, from one that got exactly one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from gateway.devstack.ports import LOOPBACK

CLIENT = "{jabber:client}"
SASL = "{urn:ietf:params:xml:ns:xmpp-sasl}"
STREAMS = "{http://etherx.jabber.org/streams}"
MUC_USER = "{http://jabber.org/protocol/muc#user}"
HEADER = ("<?xml version='1.0'?><stream:stream to={to} xmlns='jabber:client'"
          " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")

Predicate = Callable[[ET.Element], bool]
_ids = itertools.count()


class StreamClosed(ConnectionError):
    """The server closed our stream (its stream error, if it sent one, is the message)."""


class _Splitter:
    """An XML stream's top-level elements, each handed out as it completes.

    pyexpat with a space as the namespace separator, not ElementTree's parser: ElementTree refuses a namespace
    name that holds "}" (its own separator), which Prosody accepts and forwards, and the client must read
    whatever the server sends. Elements are built with ElementTree's TreeBuilder, tags as "{namespace}name".
    """

    def __init__(self, on_element: Callable[[ET.Element], None]) -> None:
        self._on_element = on_element
        self.restart()

    def restart(self) -> None:
        self._parser = expat.ParserCreate("UTF-8", " ")
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._data
        self._depth = 0
        self._builder: ET.TreeBuilder | None = None

    @staticmethod
    def _name(raw: str) -> str:
        namespace, _, local = raw.rpartition(" ")
        return f"{{{namespace}}}{local}" if namespace else local

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self._depth += 1
        if self._depth == 1:
            return  # the stream's own element
        if self._depth == 2:
            self._builder = ET.TreeBuilder()
        assert self._builder is not None
        self._builder.start(self._name(name), {self._name(k): v for k, v in attributes.items()})

    def _end(self, name: str) -> None:
        self._depth -= 1
        if self._depth == 0 or self._builder is None:
            return
        self._builder.end(self._name(name))
        if self._depth == 1:
            element = self._builder.close()
            self._builder = None
            self._on_element(element)

    def _data(self, data: str) -> None:
        if self._builder is not None:
            self._builder.data(data)

    def feed(self, data: bytes) -> None:
        self._parser.Parse(data, False)


class RawXmppClient:
    """One account's stream on loopback (no TLS). Every received stanza is kept in `received` (bounded) and offered
    to `expect` waiters; IQ results and errors are counted per id in `iq_answers`."""

    def __init__(self, user: str, domain: str, password: str, resource: str = "fuzz", keep: int = 2000) -> None:
        self.user, self.domain, self.password, self.resource = user, domain, password, resource
        self.port = 0
        self.received: list[ET.Element] = []
        self.keep = keep
        self.iq_answers: dict[str, list[ET.Element]] = {}
        self.counts: Counter[str] = Counter()  # received stanzas by element and type, e.g. "message/groupchat"
        self.stream_error: str | None = None
        self.closed = asyncio.Event()
        self._waiters: list[tuple[Predicate, asyncio.Future[ET.Element]]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._stream = _Splitter(self._dispatch)

    @property
    def bare(self) -> str:
        return f"{self.user}@{self.domain}"

    @property
    def jid(self) -> str:
        return f"{self.bare}/{self.resource}"

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing() and not self.closed.is_set()

    # -- the stream -----------------------------------------------------------------------------------------

    async def login(self, port: int, timeout: float = 15.0) -> None:
        self.port = port
        await asyncio.wait_for(self._login(port), timeout)

    async def _login(self, port: int) -> None:
        self.closed = asyncio.Event()
        self.stream_error = None
        self._stream.restart()
        self._reader, self._writer = await asyncio.open_connection(LOOPBACK, port, limit=1 << 22)
        self._read_task = asyncio.create_task(self._read_loop(), name=f"fuzz-xmpp-{self.user}")
        features = self.expect(lambda e: e.tag == STREAMS + "features")
        self.send_raw(HEADER.format(to=quoteattr(self.domain)))
        await features
        token = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        outcome = self.expect(lambda e: e.tag in (SASL + "success", SASL + "failure"))
        self.send_raw(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        if (await outcome).tag != SASL + "success":
            raise ConnectionError(f"{self.bare}: authentication failed")
        self._stream.restart()
        features = self.expect(lambda e: e.tag == STREAMS + "features")
        self.send_raw(HEADER.format(to=quoteattr(self.domain)))
        await features
        bound = await self.iq("set", None, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                              f"<resource>{escape(self.resource)}</resource></bind>")
        if bound.get("type") != "result":
            raise ConnectionError(f"{self.bare}: resource binding failed: {ET.tostring(bound)[:300]!r}")
        self.send_raw("<presence/>")

    async def ensure_open(self) -> bool:
        """Log in again if the server closed the stream; True if it had to."""
        if self.is_open:
            return False
        await self.close()
        await self.login(self.port)
        return True

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while chunk := await self._reader.read(1 << 18):
                self._stream.feed(chunk)
        except (ConnectionError, OSError, expat.ExpatError) as exc:
            self.stream_error = self.stream_error or f"{type(exc).__name__}: {exc}"
        finally:
            self.closed.set()
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(StreamClosed(self.stream_error or "the server closed the stream"))
            self._waiters.clear()

    def _dispatch(self, elem: ET.Element) -> None:
        if elem.tag == STREAMS + "error":
            self.stream_error = " ".join(child.tag.split("}")[-1] for child in elem) or "stream error"
        if elem.tag == CLIENT + "iq" and elem.get("type") in ("result", "error"):
            self.iq_answers.setdefault(elem.get("id") or "", []).append(elem)
        self.counts[f"{elem.tag.rpartition('}')[2]}/{elem.get('type') or '-'}"] += 1
        self.received.append(elem)
        if len(self.received) > self.keep:
            del self.received[: len(self.received) - self.keep]
        for entry in list(self._waiters):
            if entry[0](elem):
                self._waiters.remove(entry)
                if not entry[1].done():
                    entry[1].set_result(elem)

    def expect(self, predicate: Predicate) -> asyncio.Future[ET.Element]:
        """A future for the next stanza that matches (register it before sending what causes it)."""
        future: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
        if self.closed.is_set():
            future.set_exception(StreamClosed(self.stream_error or "the stream is closed"))
        else:
            self._waiters.append((predicate, future))
        return future

    def forget(self, future: asyncio.Future[ET.Element]) -> None:
        self._waiters = [entry for entry in self._waiters if entry[1] is not future]
        if not future.done():
            future.cancel()

    def send_raw(self, data: str | bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise StreamClosed(self.stream_error or "the stream is closed")
        self._writer.write(data.encode() if isinstance(data, str) else data)

    async def drain(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.drain()

    async def iq(self, itype: str, to: str | None, payload: str, timeout: float = 10.0) -> ET.Element:
        """Send an IQ and return its answer (result or error)."""
        iq_id = f"fzq{next(_ids)}"
        answer = self.expect(lambda e: e.tag == CLIENT + "iq" and e.get("id") == iq_id)
        target = f" to={quoteattr(to)}" if to else ""
        self.send_raw(f"<iq type='{itype}' id='{iq_id}'{target}>{payload}</iq>")
        try:
            return await asyncio.wait_for(answer, timeout)
        finally:
            self.forget(answer)

    async def join_room(self, room: str, nick: str, timeout: float = 10.0) -> ET.Element:
        """Join a group chat and return our own presence (status 110); ConnectionError on an error presence."""

        def own(e: ET.Element) -> bool:
            if e.tag != CLIENT + "presence" or not (e.get("from") or "").startswith(room + "/"):
                return False
            return e.get("type") == "error" or any(s.get("code") == "110" for s in e.iter(MUC_USER + "status"))

        joined = self.expect(own)
        self.send_raw(f"<presence to={quoteattr(room + '/' + nick)} id='join{next(_ids)}'>"
                      "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>")
        try:
            presence = await asyncio.wait_for(joined, timeout)
        finally:
            self.forget(joined)
        if presence.get("type") == "error":
            raise ConnectionError(f"{self.bare} could not join {room}: {ET.tostring(presence)[:300]!r}")
        return presence

    def message(self, to: str, body: str, mtype: str = "chat", msg_id: str | None = None) -> None:
        ident = msg_id or f"fzm{next(_ids)}"
        self.send_raw(f"<message to={quoteattr(to)} type='{mtype}' id={quoteattr(ident)}>"
                      f"<body>{escape(body)}</body></message>")

    async def close(self) -> None:
        writer, task = self._writer, self._read_task
        self._writer, self._read_task = None, None
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(ConnectionError, OSError):
                writer.write(b"</stream:stream>")
                await writer.drain()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def body_of(elem: ET.Element) -> str | None:
    body = elem.find(CLIENT + "body")
    return body.text if body is not None else None


def new_id(prefix: str = "fz") -> str:
    return f"{prefix}{next(_ids)}"
