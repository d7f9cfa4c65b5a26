"""IrcConnection against a real ngircd (plain IRC, no IRCv3 beyond multi-prefix) and a fake server for the wire."""

from __future__ import annotations

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.transports.irc.connection import IrcConnection
from tests.transports.irc.conftest import make_connection


async def test_connects_and_talks(
    ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    conn, rec = make_connection(ngircd.port, "gwuser")
    connections.append(conn)
    await conn.connect()
    assert conn.connected and conn.nick == "gwuser"
    raw = await RawIrcClient.connect(ngircd.port)
    raw_clients.append(raw)
    await raw.register("rawbob")
    await raw.join("#talk")
    channel = await conn.join("#talk")
    assert "rawbob" in channel
    await conn.privmsg("#talk", "hello there")
    got = await raw.expect_command("PRIVMSG")
    assert got.params == ("#talk", "hello there")
