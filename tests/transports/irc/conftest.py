"""Helpers for IrcConnection tests: an event recorder, a scriptable fake IRC server, connection factories."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.devstack.ngircd import IrcLine, NgircdServer, RawIrcClient, ngircd_available, parse_line
from gateway.devstack.ports import LOOPBACK
from gateway.transports.irc.channel import ChannelDirectory
from gateway.transports.irc.connection import IrcConnection, IrcIdentity
from gateway.transports.irc.events import IrcEventsBase
from gateway.transports.irc.settings import IrcNetwork, IrcSettings


class Recorder(IrcEventsBase):
    """Keeps every event as (callback name, event); `wait` for one that matches."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):

            async def record(event: Any) -> None:
                self.events.append((name, event))
                self._changed.set()

            return record
        return super().__getattribute__(name)

    def of(self, name: str) -> list[Any]:
        return [event for kind, event in self.events if kind == name]

    async def wait(self, name: str, predicate: Callable[[Any], bool] = lambda e: True, timeout: float = 5.0) -> Any:
        async def find() -> Any:
            while True:
                for kind, event in self.events:
                    if kind == name and predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {name} event matched within {timeout} s; got {self.events[-10:]}") from None


FAST = {"flood_burst": 1000, "flood_rate": 1000.0, "queue_size": 5000}


def settings(**overrides: Any) -> IrcSettings:
    values: dict[str, Any] = {"jid": "irc.localhost", "secret": "s", **FAST, **overrides}
    return IrcSettings.model_validate(values)


def network(port: int, *, tls: bool = False, **overrides: Any) -> IrcNetwork:
    return IrcNetwork(name="test", host=LOOPBACK, port=port, tls=tls, **overrides)


def make_connection(
    port: int,
    nick: str,
    *,
    tls_context: ssl.SSLContext | None = None,
    tls: bool = False,
    identity: IrcIdentity | None = None,
    network_options: dict[str, Any] | None = None,
    directory: ChannelDirectory[IrcConnection] | None = None,
    **setting_overrides: Any,
) -> tuple[IrcConnection, Recorder]:
    recorder = Recorder()
    connection = IrcConnection(
        f"{nick}@example.org",
        network(port, tls=tls, **(network_options or {})),
        settings(**setting_overrides),
        identity or IrcIdentity(nick),
        recorder,
        ssl_context=tls_context,
        reconnect_min_delay=0.05,
        connect_timeout=5.0,
        join_timeout=5.0,
        directory=directory,
    )
    return connection, recorder


@pytest.fixture(scope="module")
def ngircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NgircdServer]:
    if not ngircd_available():
        pytest.skip("ngircd is not installed (apt install ngircd)")
    with NgircdServer(tmp_path_factory.mktemp("ngircd"), tls=True) as server:
        yield server


@pytest.fixture
async def connections() -> AsyncIterator[list[IrcConnection]]:
    """Connections a test opens; each is quit at the end."""
    opened: list[IrcConnection] = []
    yield opened
    for connection in opened:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.quit("test over"), 5)


@pytest.fixture
async def raw_clients() -> AsyncIterator[list[RawIrcClient]]:
    opened: list[RawIrcClient] = []
    yield opened
    for client in opened:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 5)


# -- a fake server, for what a real one does not let a test control: PONGs, exact received lines ----------------


@dataclass
class FakeClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    lines: list[IrcLine] = field(default_factory=list)
    nick: str | None = None

    async def send(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()


class FakeIrcServer:
    """Registers anyone (001..376 on NICK+USER), answers PING unless `answer_pings` is off, records every line.
    Each client is on its own: a JOIN is not told to the others."""

    def __init__(self, *, isupport: str = "CASEMAPPING=rfc1459 PREFIX=(ov)@+ CHANTYPES=#") -> None:
        self.isupport = isupport
        self.answer_pings = True
        self.names: str | None = None  # the NAMES answer to every JOIN (default: the joiner as op, and bob)
        self.hold_names: dict[str, asyncio.Event] = {}  # nick -> NAMES after its JOIN wait for this
        self.clients: list[FakeClient] = []
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for client in self.clients:
                client.writer.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def last(self) -> FakeClient:
        return self.clients[-1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = FakeClient(reader, writer)
        self.clients.append(client)
        self.connected.set()
        user_seen = False
        try:
            while True:
                data = await reader.readuntil(b"\n")
                line = parse_line(data.rstrip(b"\r\n").decode("utf-8", "replace"))
                client.lines.append(line)
                if line.command == "NICK":
                    old, client.nick = client.nick, line.params[0]
                    if user_seen and old is not None:
                        await client.send(f":{old}!u@fake.host NICK :{client.nick}")
                elif line.command == "USER":
                    user_seen = True
                    nick = client.nick
                    await client.send(f":fake.server 001 {nick} :Welcome {nick}!{line.params[0]}@fake.host")
                    await client.send(f":fake.server 005 {nick} {self.isupport} :are supported")
                    await client.send(f":fake.server 376 {nick} :End of MOTD")
                elif line.command == "PING" and self.answer_pings:
                    await client.send(f":fake.server PONG fake.server :{line.params[-1]}")
                elif line.command == "JOIN":
                    await client.send(f":{client.nick}!u@fake.host JOIN {line.params[0]}")
                    if client.nick in self.hold_names:
                        await self.hold_names[client.nick].wait()
                    names = self.names or f"@{client.nick} bob"
                    await client.send(f":fake.server 353 {client.nick} = {line.params[0]} :{names}")
                    await client.send(f":fake.server 366 {client.nick} {line.params[0]} :End of NAMES")
                elif line.command == "QUIT":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def received(self, command: str, client: FakeClient | None = None) -> list[IrcLine]:
        return [line for line in (client or self.last).lines if line.command == command]


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeIrcServer]:
    server = FakeIrcServer()
    await server.start()
    yield server
    await server.stop()


def tls_context_for(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))
