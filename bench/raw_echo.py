"""The server's own limit: the echo component's group chat with as little work per stanza as Python allows.

slixmpp builds stanza objects, matches handlers and serialises each copy; here expat (C) parses and every copy
is one formatted string, so what is left is Prosody routing the stanzas. If this component runs well below a
core while Prosody runs at a full one, the figure is Prosody's ceiling on this machine, for any component in
any language. Same behaviour as `bench.echo_component` (join answered with status 110, a groupchat message
copied to every occupant). Written by hand because no library offers a component without per-stanza objects.
"""

from __future__ import annotations

import asyncio
import hashlib
import xml.etree.ElementTree as ET
from typing import cast
from xml.sax.saxutils import escape, quoteattr

from bench.echo_component import parse_args, until_stopped
from bench.streams import close_stream
from gateway.devstack.ports import LOOPBACK

NS = "{jabber:component:accept}"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'"
          " xmlns:stream='http://etherx.jabber.org/streams' to={domain}>")
JOINED = ("<presence from={room} to={user}><x xmlns='http://jabber.org/protocol/muc#user'>"
          "<item affiliation='none' role='participant'/><status code='110'/></x></presence>")


class RawEchoRooms:
    def __init__(self, domain: str, secret: str) -> None:
        self.domain, self.secret = domain, secret
        self.rooms: dict[str, dict[str, str]] = {}  # room bare JID -> occupant full JID -> nick
        self.ready = asyncio.Event()
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._root = ET.Element("stream")
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._out: list[str] = []  # what one read's stanzas produce leaves in one write (fewer reads for Prosody)

    async def connect(self, port: int) -> None:
        reader, self._writer = await asyncio.open_connection(LOOPBACK, port)
        self._writer.write(HEADER.format(domain=quoteattr(self.domain)).encode())
        self._task = asyncio.create_task(self._read(reader))

    async def close(self) -> None:
        await close_stream(self._writer, b"</stream:stream>", self._task)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(262144):
            self._parser.feed(chunk)
            for event, elem in cast(list[tuple[str, ET.Element]], self._parser.read_events()):
                if event == "start":
                    self._depth += 1
                    if self._depth == 1:
                        self._started(elem)
                    continue
                self._depth -= 1
                if self._depth == 1:
                    self._root.remove(elem)
                    self._stanza(elem)
            if self._out and self._writer is not None:
                self._writer.write("".join(self._out).encode())
                self._out.clear()

    def _started(self, stream: ET.Element) -> None:
        self._root = stream
        digest = hashlib.sha1((stream.get("id", "") + self.secret).encode()).hexdigest()
        self._send(f"<handshake>{digest}</handshake>")

    def _send(self, data: str) -> None:
        self._out.append(data)

    def _stanza(self, elem: ET.Element) -> None:
        tag, sender, to = elem.tag, elem.get("from", ""), elem.get("to", "")
        if tag == NS + "handshake":
            self.ready.set()
        elif tag == NS + "message" and elem.get("type") == "groupchat":
            room = to.partition("/")[0]
            occupants = self.rooms.get(room, {})
            body = elem.findtext(NS + "body") or ""
            source = quoteattr(f"{room}/{occupants.get(sender, 'someone')}")
            text = escape(body)
            self._send("".join(f"<message from={source} to={quoteattr(jid)} type='groupchat'><body>{text}</body>"
                               "</message>" for jid in occupants))
        elif tag == NS + "presence":
            room, _, nick = to.partition("/")
            if elem.get("type") == "unavailable":
                self.rooms.get(room, {}).pop(sender, None)
            elif nick:
                self.rooms.setdefault(room, {})[sender] = nick
                self._send(JOINED.format(room=quoteattr(to), user=quoteattr(sender)))


async def main() -> None:
    args = parse_args()
    component = RawEchoRooms(args.domain, args.secret)
    await component.connect(args.port)
    await asyncio.wait_for(component.ready.wait(), 30)
    print("raw echo component connected", flush=True)
    await until_stopped()
    await component.close()


if __name__ == "__main__":
    asyncio.run(main())
