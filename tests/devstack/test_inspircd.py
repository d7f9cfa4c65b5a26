"""A real InspIRCd 3 on loopback: IRCv3 caps, server-time tags, echo-message, TLS. One server per module."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from gateway.devstack.certs import make_test_certificate
from gateway.devstack.inspircd import IRCV3_CAPS, InspircdServer, atheme_available, inspircd_available
from gateway.devstack.ngircd import RawIrcClient, irc_server_answers
from gateway.devstack.ports import port_accepts

pytestmark = pytest.mark.skipif(not inspircd_available(), reason="inspircd is not installed (apt install inspircd)")


@pytest.fixture(scope="module")
def inspircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InspircdServer]:
    with InspircdServer(tmp_path_factory.mktemp("inspircd"), tls=True) as server:
        yield server


async def test_cap_ls_offers_the_ircv3_caps(inspircd: InspircdServer) -> None:
    client = await RawIrcClient.connect(inspircd.port)
    try:
        await client.send("CAP LS 302")
        reply = await client.expect(lambda line: line.command == "CAP" and line.params[1] == "LS")
        offered = {cap.split("=", 1)[0] for cap in reply.params[-1].split()}
        assert set(IRCV3_CAPS) <= offered
    finally:
        await client.close()


async def test_messages_carry_server_time_and_echo(inspircd: InspircdServer) -> None:
    assert inspircd.tls_port is not None
    alice = await RawIrcClient.connect(inspircd.port)
    bob = await RawIrcClient.connect(inspircd.tls_port, tls=inspircd.client_tls_context())
    try:
        # Registration takes about a second on InspIRCd: both at once.
        await asyncio.gather(alice.register("alice", caps=IRCV3_CAPS), bob.register("bob", caps=IRCV3_CAPS))
        await alice.join("#v3")
        await bob.join("#v3")
        await alice.send("PRIVMSG #v3 :hello with a time")
        got = await bob.expect_command("PRIVMSG")
        assert got.params == ("#v3", "hello with a time")
        stamp = datetime.fromisoformat(got.tags["time"].replace("Z", "+00:00"))
        assert abs((datetime.now(stamp.tzinfo) - stamp).total_seconds()) < 60
        assert got.tags.get("msgid")
        echo = await alice.expect_command("PRIVMSG")  # echo-message: the sender sees its own line
        assert echo.params == got.params and echo.tags["msgid"] == got.tags["msgid"]
        await alice.send("@label=l1 PRIVMSG bob :labelled")
        ack = await alice.expect(lambda line: line.tags.get("label") == "l1")
        assert ack.command in ("PRIVMSG", "ACK")
        await bob.send("AWAY :lunch")
        away = await alice.expect_command("AWAY")  # away-notify
        assert away.nick == "bob" and away.params == ("lunch",)
    finally:
        await alice.close()
        await bob.close()


async def test_tls_refused_with_another_ca(inspircd: InspircdServer, tmp_path: Path) -> None:
    assert inspircd.tls_port is not None
    other_ca, _, _ = make_test_certificate(tmp_path / "other", "irc.localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        await RawIrcClient.connect(inspircd.tls_port, tls=ssl.create_default_context(cafile=str(other_ca)))
    assert irc_server_answers(inspircd.tls_port, tls=inspircd.client_tls_context())


def test_restart_keeps_the_port(tmp_path: Path) -> None:
    server = InspircdServer(tmp_path / "inspircd")
    with server:
        port, pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid not in (None, pid)
        assert irc_server_answers(port)
    assert server.pid is None and not port_accepts(port)


def test_config_shape(tmp_path: Path) -> None:
    text = InspircdServer(tmp_path / "x", port=16668, password="pw").config_text()
    assert 'fakelag="no"' in text and 'resolvehostnames="no"' in text and '<dns server="127.0.0.1"' in text
    assert 'port="16668"' in text and 'address="127.0.0.1"' in text and 'password="pw"' in text
    assert '<module name="ircv3_servertime">' in text and "ssl_gnutls" not in text
    with pytest.raises(ValueError):
        InspircdServer(tmp_path / "x", password='a"><module name="x')


@pytest.mark.skipif(not atheme_available(), reason="atheme-services is not installed (apt install atheme-services)")
async def test_sasl_plain_through_atheme(tmp_path: Path) -> None:
    server = InspircdServer(tmp_path / "inspircd", sasl=True)
    await asyncio.to_thread(server.start)
    try:
        await server.register_account("alice", "s3cret-pw")

        async def login(nick: str, password: str) -> list[str]:
            client = await RawIrcClient.connect(server.port)
            try:
                await client.send("CAP LS 302")
                await client.send(f"NICK {nick}")
                await client.send(f"USER {nick} 0 * :{nick}")
                ls = await client.expect(lambda line: line.command == "CAP" and line.params[1] == "LS")
                assert "sasl=PLAIN" in ls.params[-1].split()
                await client.send("CAP REQ :sasl")
                await client.expect(lambda line: line.command == "CAP" and line.params[1] == "ACK")
                await client.send("AUTHENTICATE PLAIN")
                await client.expect_command("AUTHENTICATE")
                await client.send("AUTHENTICATE " + base64.b64encode(f"alice\0alice\0{password}".encode()).decode())
                await client.expect(lambda line: line.command in ("903", "904"))
                await client.send("CAP END")
                return [line.command for line in client.received if line.command in ("900", "903", "904")]
            finally:
                await client.close()

        assert await login("bob", "wrong") == ["904"]
        assert await login("carol", "s3cret-pw") == ["900", "903"]  # 900: logged in as alice
    finally:
        await asyncio.to_thread(server.stop)
    assert not port_accepts(server.port)
