"""A small asyncio IRC server for tests that says what a real server would never say.

The gateway's IRC transport connects to it as to a real network: it registers any client (CAP LS/REQ/END, NICK,
USER), answers PING, JOIN (with NAMES and an optional topic), PART, NAMES, TOPIC, MODE and QUIT, and records every
line it receives. What it sends beyond that is up to the test: `send()` writes any bytes as a line (NUL, bare CR,
invalid UTF-8, 600-byte lines, formatting codes, odd nicks, odd tags), without any of the validation a real
server applies. The `names` and `topics` a JOIN is answered with may hold anything, too.

Unlike tests/transports/irc/conftest.py's FakeIrcServer (a connection-level fake for IrcConnection tests), this
one plays a whole network for the gateway: it keeps each client's nick and channels and answers a gateway's
ordinary requests, so that end-to-end tests can put it where ngircd would be.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

from gateway.devstack.ngircd import IrcLine, parse_line
from gateway.devstack.ports import LOOPBACK

__all__ = ["HostileClient", "HostileIrcServer", "LinePredicate"]

LinePredicate = Callable[[IrcLine], bool]
T = TypeVar("T")

DEFAULT_ISUPPORT = "CASEMAPPING=rfc1459 PREFIX=(ov)@+ CHANTYPES=#"
READ_LIMIT = 1 << 20  # a client line longer than this ends the connection (a real server allows 512 bytes)


def _terminated(data: bytes) -> bytes:
    """`data` as a line on the wire: CRLF appended unless it already ends a line."""
    return data if data.endswith(b"\n") else data + b"\r\n"


@dataclass(eq=False)
class HostileClient:
    """One connection to the server: what it said (parsed and raw), its nick and the channels it is in."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    lines: list[IrcLine] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each received line as it came, CRLF removed
    nick: str | None = None
    user: str | None = None
    password: str | None = None
    channels: list[str] = field(default_factory=list)  # as the client spelt them in JOIN
    registered: bool = False
    cap_negotiating: bool = False
    closed: bool = False

    @property
    def host(self) -> str:
        return "hostile.host"

    @property
    def mask(self) -> str:
        """The client's own `nick!user@host`, the source of its echoed JOIN, PART and NICK."""
        return f"{self.nick or '*'}!{self.user or 'u'}@{self.host}"

    async def send(self, line: str | bytes) -> None:
        """Write one line as given (str as UTF-8); CRLF is appended unless the data already ends a line."""
        if self.closed:
            return
        data = line.encode("utf-8") if isinstance(line, str) else line
        try:
            self.writer.write(_terminated(data))
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed = True

    def received(self, command: str) -> list[IrcLine]:
        return [line for line in self.lines if line.command == command.upper()]

    def in_channel(self, channel: str) -> bool:
        folded = _fold(channel)
        return any(_fold(name) == folded for name in self.channels)


def _fold(name: str) -> str:
    """rfc1459 case folding, the server's CASEMAPPING by default."""
    return name.lower().translate(str.maketrans("[]\\~", "{}|^"))


class HostileIrcServer:
    """An IRC server on 127.0.0.1 and a free port that registers anyone and sends whatever a test tells it to.

    A nick another connected client holds is refused with 433, as a real server would.

    `names` (channel -> the raw text of the 353 NAMES reply) and `topics` (channel -> the text of a 332 topic
    reply), str or bytes, shape what a JOIN is answered with; without an entry a JOIN gets `@<nick> bob` and no
    topic. `caps` is what CAP LS offers (CAP REQ of those is acknowledged, anything else refused). Every line a
    client sends is recorded on its HostileClient (`lines`, `raw`); `wait_line` finds one.
    """

    def __init__(self, isupport: str = DEFAULT_ISUPPORT, server_name: str = "hostile.test", *,
                 caps: tuple[str, ...] = ()) -> None:
        self.isupport = isupport
        self.server_name = server_name
        self.caps = caps
        self.names: dict[str, str | bytes] = {}  # bytes go on the wire as they are (invalid UTF-8 too)
        self.topics: dict[str, str | bytes] = {}
        self.answer_pings = True
        self.clients: list[HostileClient] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._handed_out: set[tuple[int, int]] = set()  # (id of the client, index of the line) seen by wait_line

    # -- life cycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0, limit=READ_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for client in self.clients:
            client.closed = True
            client.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def __aenter__(self) -> HostileIrcServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    # -- what tests use ---------------------------------------------------------------------------------------

    def client_for(self, nick: str) -> HostileClient | None:
        """The connected client that has this nick now (rfc1459 case folding), or None."""
        folded = _fold(nick)
        for client in reversed(self.clients):
            if not client.closed and client.nick is not None and _fold(client.nick) == folded:
                return client
        return None

    async def wait_client(self, nick: str | None = None, timeout: float = 5.0) -> HostileClient:
        """The first registered, connected client (with this nick, if given); TimeoutError if none comes."""

        def find() -> HostileClient | None:
            for client in self.clients:
                if client.registered and not client.closed and (
                        nick is None or (client.nick is not None and _fold(client.nick) == _fold(nick))):
                    return client
            return None

        try:
            return await asyncio.wait_for(self._until(find), timeout)
        except TimeoutError:
            known = [(c.nick, c.registered, c.closed) for c in self.clients]
            raise TimeoutError(f"no registered client {nick or ''} within {timeout:g} s; clients: {known}") from None

    async def wait_line(self, predicate: LinePredicate, timeout: float = 5.0,
                        client: HostileClient | None = None, since: int = 0) -> IrcLine:
        """The first received line (of `client`, or of any) that matches and no earlier wait_line returned.

        Lines received before the call count too, so a test may send first and wait after; each line is handed
        out once, and lines that do not match stay available to later calls. `since` skips each client's first
        lines (e.g. `len(client.lines)` taken before sending: a long test then does not scan them all again).
        """

        def find() -> IrcLine | None:
            for candidate in [client] if client is not None else list(self.clients):
                for index in range(since, len(candidate.lines)):
                    line = candidate.lines[index]
                    key = (id(candidate), index)
                    if key not in self._handed_out and predicate(line):
                        self._handed_out.add(key)
                        return line
            return None

        try:
            return await asyncio.wait_for(self._until(find), timeout)
        except TimeoutError:
            recent = [line.raw for c in ([client] if client else self.clients) for line in c.lines[-5:]]
            raise TimeoutError(f"no matching line within {timeout:g} s; last lines: {recent}") from None

    async def send(self, line: str | bytes, client: HostileClient | None = None) -> None:
        """Write a raw line to one client, or to every connected one. Nothing is checked or escaped: str is
        encoded as UTF-8, bytes go as they are; CRLF is appended unless the data already ends with a line end."""
        targets = [client] if client is not None else [c for c in self.clients if not c.closed]
        for target in targets:
            await target.send(line)

    async def drop(self, client: HostileClient | None = None) -> None:
        """Close one client's connection, or every one, from the server's side (as a KILL or a netsplit would)."""
        for target in [client] if client is not None else list(self.clients):
            if not target.closed:
                target.closed = True
                target.writer.transport.abort()
        self._notify()

    def mask(self, nick: str, user: str = "u", host: str = "hostile.host") -> str:
        """A `nick!user@host` source for lines a test makes up (no check: any nick will do)."""
        return f"{nick}!{user}@{host}"

    # -- serving ----------------------------------------------------------------------------------------------

    async def _until(self, find: Callable[[], T | None]) -> T:
        while True:
            self._changed.clear()
            found = find()
            if found is not None:
                return found
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        client = HostileClient(reader, writer)
        self.clients.append(client)
        self._notify()
        try:
            while not client.closed:
                try:
                    data = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    break
                raw = data.rstrip(b"\r\n")
                line = parse_line(raw.decode("utf-8", errors="replace"))
                client.raw.append(raw)
                client.lines.append(line)
                self._notify()
                await self._answer(client, line)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            client.closed = True
            self._notify()
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _numeric(self, client: HostileClient, code: str, *params: str, trailing: str | bytes | None = None
                       ) -> None:
        """`:server CODE nick params...`, then ` :trailing` if given (bytes go on the wire as they are)."""
        target = client.nick or "*"
        line = f":{self.server_name} {code} {target} {' '.join(params)}".encode()
        if trailing is not None:
            line += b" :" + (trailing if isinstance(trailing, bytes) else trailing.encode())
        await client.send(line)

    async def _answer(self, client: HostileClient, line: IrcLine) -> None:
        command, params = line.command, line.params
        if command == "CAP":
            await self._cap(client, params)
        elif command == "PASS":
            client.password = params[0] if params else ""
        elif command == "NICK" and params:
            holder = self.client_for(params[0])
            if holder is not None and holder is not client:
                await self._numeric(client, "433", params[0], ":Nickname is already in use")
                return
            old, client.nick = client.nick, params[0]
            if client.registered:
                await client.send(f":{old}!{client.user or 'u'}@{client.host} NICK :{client.nick}")
            else:
                await self._maybe_register(client)
        elif command == "USER" and params:
            client.user = params[0]
            await self._maybe_register(client)
        elif command == "PING":
            if self.answer_pings:
                await client.send(f":{self.server_name} PONG {self.server_name} :{params[-1] if params else ''}")
        elif command == "QUIT":
            await client.send(f"ERROR :Closing link: {client.mask} (Quit: {params[-1] if params else ''})")
            client.closed = True
        elif not client.registered:
            return
        elif command == "JOIN" and params:
            for channel in params[0].split(","):
                if channel and not client.in_channel(channel):
                    client.channels.append(channel)
                await client.send(f":{client.mask} JOIN :{channel}")
                if channel in self.topics:
                    await self._numeric(client, "332", channel, trailing=self.topics[channel])
                await self._names(client, channel)
        elif command == "PART" and params:
            reason = params[1] if len(params) > 1 else ""
            for channel in params[0].split(","):
                client.channels = [name for name in client.channels if _fold(name) != _fold(channel)]
                await client.send(f":{client.mask} PART {channel} :{reason}")
        elif command == "NAMES" and params:
            for channel in params[0].split(","):
                await self._names(client, channel)
        elif command == "TOPIC" and params:
            channel = params[0]
            if len(params) > 1:
                self.topics[channel] = params[1]
                await client.send(f":{client.mask} TOPIC {channel} :{params[1]}")
            elif channel in self.topics:
                await self._numeric(client, "332", channel, trailing=self.topics[channel])
            else:
                await self._numeric(client, "331", channel, ":No topic is set")
        elif command == "MODE" and params:
            if params[0].startswith("#") and len(params) == 1:
                await self._numeric(client, "324", params[0], "+nt")
            elif len(params) > 1:
                await client.send(f":{client.mask} MODE {' '.join(params)}")
        elif command == "AWAY":
            if params and params[0]:
                await self._numeric(client, "306", ":You have been marked as being away")
            else:
                await self._numeric(client, "305", ":You are no longer marked as being away")
        elif command == "WHO" and params:
            await self._numeric(client, "315", params[0], ":End of WHO list")

    async def _names(self, client: HostileClient, channel: str) -> None:
        names = self.names.get(channel, f"@{client.nick} bob")
        await self._numeric(client, "353", "=", channel, trailing=names)
        await self._numeric(client, "366", channel, ":End of /NAMES list.")

    async def _cap(self, client: HostileClient, params: tuple[str, ...]) -> None:
        sub = params[0].upper() if params else ""
        target = client.nick or "*"
        if sub == "LS":
            if not client.registered:
                client.cap_negotiating = True
            await client.send(f":{self.server_name} CAP {target} LS :{' '.join(self.caps)}")
        elif sub == "REQ":
            wanted = params[-1].split() if len(params) > 1 else []
            verdict = "ACK" if all(cap.lstrip("-") in self.caps for cap in wanted) else "NAK"
            await client.send(f":{self.server_name} CAP {target} {verdict} :{' '.join(wanted)}")
        elif sub == "LIST":
            await client.send(f":{self.server_name} CAP {target} LIST :")
        elif sub == "END":
            client.cap_negotiating = False
            await self._maybe_register(client)

    async def _maybe_register(self, client: HostileClient) -> None:
        if client.registered or client.cap_negotiating or client.nick is None or client.user is None:
            return
        client.registered = True
        await self._numeric(client, "001", f":Welcome to the hostile network {client.mask}")
        await self._numeric(client, "005", self.isupport, ":are supported by this server")
        await self._numeric(client, "376", ":End of /MOTD command.")
        self._notify()
