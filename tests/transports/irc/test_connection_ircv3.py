"""IrcConnection against a real InspIRCd 3 linked to atheme-services: IRCv3 caps, server-time, echo-message,
away-notify, account-notify, SASL PLAIN, NickServ IDENTIFY, rfc1459 casemapping. One server per module;
registrations (~1 s each on InspIRCd) run concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.devstack.inspircd import InspircdServer, atheme_available, inspircd_available
from gateway.devstack.ngircd import RawIrcClient
from gateway.transports.irc.addressing import Casemapping
from gateway.transports.irc.connection import WANTED_CAPS, IrcConnection, IrcIdentity
from tests.transports.irc.conftest import make_connection

pytestmark = pytest.mark.skipif(
    not (inspircd_available() and atheme_available()), reason="inspircd and atheme-services are needed"
)

PASSWORDS = {"saslacct": "sasl-pw-1", "nsacct": "ns-pw-2", "rawacct": "raw-pw-3"}


@pytest.fixture(scope="module")
def inspircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InspircdServer]:
    with InspircdServer(Path(tmp_path_factory.mktemp("inspircd")), sasl=True) as server:

        async def register_all() -> None:
            await asyncio.gather(*(server.register_account(name, pw) for name, pw in PASSWORDS.items()))

        asyncio.run(register_all())
        yield server


async def test_ircv3_caps_server_time_echo_away_and_account(
    inspircd: InspircdServer, connections: list[IrcConnection], raw_clients: list[RawIrcClient]
) -> None:
    conn, rec = make_connection(inspircd.port, "modern")
    connections.append(conn)
    peer = await RawIrcClient.connect(inspircd.port)
    raw_clients.append(peer)
    await asyncio.gather(conn.connect(), peer.register("rawacct"))
    assert set(WANTED_CAPS) <= conn.caps
    await peer.join("#v3")
    await conn.join("#v3")

    await peer.send("PRIVMSG #v3 :stamped")
    got = await rec.wait("on_message", lambda e: e.text == "stamped")
    assert got.time is not None and abs((datetime.now(UTC) - got.time).total_seconds()) < 30
    assert got.tags.get("msgid") and not got.own

    # echo-message: our message is reported once, as the server echoed it (its time and msgid), not twice.
    await conn.privmsg("#v3", "mine once")
    echo = await rec.wait("on_message", lambda e: e.text == "mine once")
    await peer.expect(lambda line: line.command == "PRIVMSG" and line.params[1] == "mine once")
    await asyncio.sleep(0.3)
    own = [e for e in rec.of("on_message") if e.own]
    assert own == [echo] and echo.time is not None and echo.tags.get("msgid")

    # away-notify
    await peer.send("AWAY :at lunch")
    away = await rec.wait("on_away")
    assert (away.nick, away.message) == ("rawacct", "at lunch")
    assert conn.channel("#v3").member("rawacct").away == "at lunch"  # type: ignore[union-attr]
    await peer.send("AWAY")
    back = await rec.wait("on_away", lambda e: e.message is None)
    assert back.nick == "rawacct" and conn.channel("#v3").member("rawacct").away is None  # type: ignore[union-attr]

    # account-notify
    await peer.send(f"PRIVMSG NickServ :IDENTIFY rawacct {PASSWORDS['rawacct']}")
    account = await rec.wait("on_account")
    assert (account.nick, account.account) == ("rawacct", "rawacct")
    assert conn.channel("#v3").member("rawacct").account == "rawacct"  # type: ignore[union-attr]


async def test_sasl_plain_through_atheme(inspircd: InspircdServer, connections: list[IrcConnection]) -> None:
    good, good_rec = make_connection(
        inspircd.port, "sasluser", identity=IrcIdentity("sasluser", sasl_account="saslacct", sasl_password="sasl-pw-1")
    )
    bad, bad_rec = make_connection(
        inspircd.port, "saslbad", identity=IrcIdentity("saslbad", sasl_account="saslacct", sasl_password="wrong")
    )
    connections += [good, bad]
    await asyncio.gather(good.connect(), bad.connect())
    assert "sasl" in good.caps and good.account == "saslacct"
    assert good_rec.of("on_error") == []
    assert bad.account is None and bad.connected  # refused login: told, still on the network
    (error,) = bad_rec.of("on_error")
    assert error.command == "SASL" and "saslacct" in error.text and "failed" in error.text


async def test_nickserv_identify_before_joins(inspircd: InspircdServer, connections: list[IrcConnection]) -> None:
    conn, rec = make_connection(inspircd.port, "nsacct", identity=IrcIdentity("nsacct", nickserv_password="ns-pw-2"))
    wrong, wrong_rec = make_connection(
        inspircd.port, "nswrong", identity=IrcIdentity("nswrong", nickserv_password="nope")
    )
    connections += [conn, wrong]
    await asyncio.gather(conn.connect(), wrong.connect())
    assert conn.account == "nsacct"  # logged in when connect() returns, so before any join
    assert rec.of("on_error") == []
    assert wrong.account is None
    (error,) = wrong_rec.of("on_error")
    assert error.command == "NICKSERV"


async def test_rfc1459_casemapping(inspircd: InspircdServer, connections: list[IrcConnection]) -> None:
    conn, _ = make_connection(inspircd.port, "Case[1]")
    connections.append(conn)
    await conn.connect()
    assert conn.server.casemapping is Casemapping.RFC1459 and conn.server.linelen == 512
    assert conn.same("case{1}", "CASE[1]")
    channel = await conn.join("#Room[x]")
    assert conn.channel("#room{x}") is channel and channel.member("CASE{1}") is not None
