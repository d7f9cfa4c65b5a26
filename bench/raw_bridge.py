"""The servers' own limit for the IRC paths: the gateway's group chats with as little work in between as Python allows.

Like the gateway (and biboumi), a user who joins `#chan%network@domain/nick` gets an IRC connection of their own,
as `nick`, in `#chan`; a room message becomes a PRIVMSG on it plus the XEP-0045 reflection to the sender, and a
PRIVMSG it receives becomes a room message to its user. Stanzas are parsed by expat (C) and written as formatted
strings, IRC lines are split by hand, and what one turn of the loop produces leaves in one write per socket. If
this process runs well below a core while Prosody runs at a full one, its figure is what Prosody and ngircd route
on this machine, for any gateway in any language. Written by hand because no library offers a component without
per-stanza objects.

With --stanza-ids its room messages carry what the gateway's must: a stanza-id (XEP-0359) on every room message,
and on the reflection the client's id as well (XEP-0045 7.4). Prosody's cost per stanza grows with what it
parses, so this is the servers' limit for a gateway that sends them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from bench.echo_component import until_stopped
from bench.irc_load import RawIrcLoad
from bench.streams import StanzaSplitter, close_stream
from gateway.devstack.ports import LOOPBACK

NS = "{jabber:component:accept}"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'"
          " xmlns:stream='http://etherx.jabber.org/streams' to={domain}>")
JOINED = ("<presence from={room} to={user}><x xmlns='http://jabber.org/protocol/muc#user'>"
          "<item affiliation='none' role='participant'/><status code='110'/></x></presence>")


@dataclass
class _User:
    """One XMPP user's IRC connection and the rooms it is in (one connection for all of them, as the gateway)."""
    jid: str
    nick: str
    irc: RawIrcLoad
    connected: asyncio.Future[None]  # a second room of the user's waits for the same connection
    rooms: dict[str, str] = field(default_factory=dict)  # channel (lower case) -> room bare JID
    out: list[str] = field(default_factory=list)  # PRIVMSG lines waiting for this turn's write


class RawBridge:
    def __init__(self, domain: str, secret: str, irc_port: int, stanza_ids: bool = False) -> None:
        self.domain, self.secret, self.irc_port = domain, secret, irc_port
        self.stanza_ids = stanza_ids
        self._next_id = 0
        self.ready = asyncio.Event()
        self.users: dict[str, _User] = {}  # full JID -> its connection
        self._stream = StanzaSplitter(self._stanza, on_open=self._started)
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._joins: set[asyncio.Task[None]] = set()
        self._out: list[str] = []  # stanzas waiting for this turn's write
        self._flush_scheduled = False

    async def connect(self, port: int) -> None:
        reader, self._writer = await asyncio.open_connection(LOOPBACK, port)
        self._writer.write(HEADER.format(domain=quoteattr(self.domain)).encode())
        self._task = asyncio.create_task(self._read(reader))

    async def close(self) -> None:
        for user in self.users.values():
            await user.irc.close()
        await close_stream(self._writer, b"</stream:stream>", self._task)

    # -- writes: one per socket per turn of the loop -------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _send(self, stanza: str) -> None:
        self._out.append(stanza)
        self._schedule_flush()

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self._writer is not None:
            self._writer.write("".join(self._out).encode())
            self._out.clear()
        for user in self.users.values():
            if user.out:
                user.irc.send("".join(user.out))
                user.out.clear()

    # -- XMPP side -----------------------------------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(262144):
            self._stream.feed(chunk)

    def _started(self, stream: ET.Element) -> None:
        digest = hashlib.sha1((stream.get("id", "") + self.secret).encode()).hexdigest()
        self._send(f"<handshake>{digest}</handshake>")

    def _stanza(self, elem: ET.Element) -> None:
        tag, sender, to = elem.tag, elem.get("from", ""), elem.get("to", "")
        if tag == NS + "handshake":
            self.ready.set()
        elif tag == NS + "message" and elem.get("type") == "groupchat":
            user = self.users.get(sender)
            room = to.partition("/")[0]
            if user is None or room not in user.rooms.values():
                return
            body = elem.findtext(NS + "body") or ""
            user.out.append(f"PRIVMSG {_channel(room)} :{body}\r\n")
            self._room_message(room, user.nick, sender, body, elem.get("id"))
        elif tag == NS + "presence":
            room, _, nick = to.partition("/")
            if elem.get("type") == "unavailable":
                self._leave(sender, room)
            elif nick:
                join = asyncio.create_task(self._join(sender, room, nick))
                self._joins.add(join)
                join.add_done_callback(self._joins.discard)

    async def _join(self, jid: str, room: str, nick: str) -> None:
        try:
            user = self.users.get(jid)
            if user is None:
                irc = RawIrcLoad(nick)
                new = user = self.users[jid] = _User(jid, nick, irc, asyncio.ensure_future(irc.connect(self.irc_port)))
                irc.on_privmsg = lambda source, target, text: self._privmsg(new, source, target, text)
            await asyncio.shield(user.connected)
            channel = _channel(room)
            if channel.lower() not in user.rooms:
                await user.irc.join(channel)
                user.rooms[channel.lower()] = room
        except (OSError, TimeoutError) as error:
            self._send(f"<presence from={quoteattr(f'{room}/{nick}')} to={quoteattr(jid)} type='error'>"
                       f"<error type='wait'><remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                       f"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{escape(str(error))}</text></error>"
                       "</presence>")
            return
        self._send(JOINED.format(room=quoteattr(f"{room}/{nick}"), user=quoteattr(jid)))

    def _leave(self, jid: str, room: str) -> None:
        user = self.users.get(jid)
        channel = _channel(room)
        if user is not None and user.rooms.pop(channel.lower(), None) is not None:
            user.irc.part(channel)

    # -- IRC side ------------------------------------------------------------------------------------------------

    def _privmsg(self, user: _User, source: str, target: str, text: str) -> None:
        room = user.rooms.get(target.lower())
        if room is not None:
            self._room_message(room, source.lstrip(":").partition("!")[0], user.jid, text, None)

    def _room_message(self, room: str, nick: str, to: str, body: str, client_id: str | None) -> None:
        """A room message; with stanza ids, a stanza-id, and the client's id on a reflection."""
        id_attribute, stanza_id = "", ""
        if self.stanza_ids:
            self._next_id += 1
            id_attribute = f" id={quoteattr(client_id)}" if client_id else ""
            stanza_id = f"<stanza-id xmlns='urn:xmpp:sid:0' id='{self._next_id}' by={quoteattr(room)}/>"
        self._send(f"<message from={quoteattr(f'{room}/{nick}')} to={quoteattr(to)} type='groupchat'{id_attribute}>"
                   f"<body>{escape(body)}</body>{stanza_id}</message>")


def _channel(room: str) -> str:
    """`#chan%network@domain` -> `#chan`."""
    return room.partition("@")[0].partition("%")[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.raw_bridge")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, required=True, help="the XMPP server's component port")
    parser.add_argument("--irc-port", type=int, required=True)
    parser.add_argument("--stanza-ids", action="store_true", help="the ids the gateway's room messages carry")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    bridge = RawBridge(args.domain, args.secret, args.irc_port, args.stanza_ids)
    await bridge.connect(args.port)
    await asyncio.wait_for(bridge.ready.wait(), 30)
    print("raw bridge component connected", flush=True)
    await until_stopped()
    await bridge.close()


if __name__ == "__main__":
    asyncio.run(main())
