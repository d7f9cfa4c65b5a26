"""CTCP from IRC users on a real ngircd: VERSION, PING and TIME answered, at a limited rate; other CTCP ignored,
never shown to the XMPP user as raw \\x01 text."""

from __future__ import annotations

from gateway.devstack.ngircd import IrcLine, NgircdServer, RawIrcClient
from gateway.transports.irc.connection import CTCP_REPLIES, IrcConnection
from tests.transports.irc.conftest import make_connection
from tests.transports.irc.test_connection import raw


def ctcp_reply(command: str):  # type: ignore[no-untyped-def]
    def match(line: IrcLine) -> bool:
        return line.command == "NOTICE" and line.params[-1].startswith(f"\x01{command}")
    return match


async def test_ctcp_queries_are_answered_at_a_limited_rate_and_others_ignored(
        ngircd: NgircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]) -> None:
    conn, recorder = make_connection(ngircd.port, "ctcptarget")
    connections.append(conn)
    await conn.connect()
    bob = await raw(ngircd.port, "ctcpbob", raw_clients)

    await bob.send("PRIVMSG ctcptarget :\x01VERSION\x01")
    version = await bob.expect(ctcp_reply("VERSION"))
    assert version.nick == "ctcptarget" and "xmpp-gateway" in version.params[-1]
    await bob.send("PRIVMSG ctcptarget :\x01PING 1234567\x01")
    assert (await bob.expect(ctcp_reply("PING"))).params[-1] == "\x01PING 1234567\x01"
    await bob.send("PRIVMSG ctcptarget :\x01TIME\x01")
    assert "GMT" in (await bob.expect(ctcp_reply("TIME"))).params[-1]

    # The budget is spent: a flood of queries gets at most one more reply (what refilled meanwhile).
    for n in range(20):
        await bob.send(f"PRIVMSG ctcptarget :\x01PING {n}\x01")
    await bob.send("PRIVMSG ctcptarget :\x01DCC SEND evil 1 2 3\x01")
    await bob.send("PRIVMSG ctcptarget :\x01CLIENTINFO\x01")
    await bob.send("PRIVMSG ctcptarget :done")
    await recorder.wait("on_message", lambda e: e.text == "done")
    await conn.privmsg("ctcpbob", "end")  # written after any reply to the flood
    await bob.expect(lambda line: line.command == "PRIVMSG" and line.params[-1] == "end")
    replies = [line for line in bob.received if line.command == "NOTICE" and line.params[-1].startswith("\x01")]
    assert len(replies) <= CTCP_REPLIES + 1, f"{len(replies)} CTCP replies to a flood"
    assert not [line for line in replies if "DCC" in line.params[-1] or "CLIENTINFO" in line.params[-1]]
    # Only the plain message reached the user: no raw CTCP text.
    assert [e.text for e in recorder.of("on_message") if not e.own] == ["done"]
