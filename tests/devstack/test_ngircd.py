"""A real ngircd on loopback: two raw clients talk through it, restart keeps the port, TLS is verified."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.devstack.certs import make_test_certificate
from gateway.devstack.ngircd import NgircdServer, RawIrcClient, irc_server_answers, ngircd_available, parse_line
from gateway.devstack.ports import port_accepts

pytestmark = pytest.mark.skipif(not ngircd_available(), reason="ngircd is not installed (apt install ngircd)")


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[NgircdServer]:
    with NgircdServer(tmp_path / "ngircd", tls=True) as server:
        yield server


async def two_clients(port: int, tls: ssl.SSLContext | None = None) -> tuple[RawIrcClient, RawIrcClient]:
    alice, bob = await RawIrcClient.connect(port, tls=tls), await RawIrcClient.connect(port, tls=tls)
    await asyncio.gather(alice.register("alice"), bob.register("bob"))
    return alice, bob


async def test_two_clients_join_and_talk(ngircd: NgircdServer) -> None:
    alice, bob = await two_clients(ngircd.port)
    try:
        await alice.join("#test")
        await bob.join("#test")
        await alice.expect(lambda line: line.command == "JOIN" and line.nick == "bob")
        await alice.send("PRIVMSG #test :héllo 中文 👍")
        got = await bob.expect_command("PRIVMSG")
        assert got.raw == ":alice!~alice@127.0.0.1 PRIVMSG #test :héllo 中文 👍"
        await bob.send("PRIVMSG alice :private")
        assert (await alice.expect_command("PRIVMSG")).params == ("alice", "private")
    finally:
        await alice.close()
        await bob.close()


async def test_restart_keeps_the_port(ngircd: NgircdServer) -> None:
    port, tls_port, pid = ngircd.port, ngircd.tls_port, ngircd.pid
    await asyncio.to_thread(ngircd.restart)
    assert (ngircd.port, ngircd.tls_port) == (port, tls_port)
    assert ngircd.pid is not None and ngircd.pid != pid
    client = await RawIrcClient.connect(port)
    try:
        await client.register("again")
    finally:
        await client.close()


async def test_tls_verified_against_the_test_ca(ngircd: NgircdServer, tmp_path: Path) -> None:
    assert ngircd.tls_port is not None
    alice, bob = await two_clients(ngircd.tls_port, ngircd.client_tls_context())
    try:
        await alice.join("#tls")
        await bob.join("#tls")
        await alice.send("PRIVMSG #tls :over TLS")
        assert (await bob.expect_command("PRIVMSG")).params == ("#tls", "over TLS")
    finally:
        await alice.close()
        await bob.close()
    other_ca, _, _ = make_test_certificate(tmp_path / "other", "irc.localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        await RawIrcClient.connect(ngircd.tls_port, tls=ssl.create_default_context(cafile=str(other_ca)))
    wrong_name = ngircd.client_tls_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("127.0.0.1", ngircd.tls_port, ssl=wrong_name, server_hostname="irc.example.org")


def test_stop_ends_the_process_and_frees_the_port(tmp_path: Path) -> None:
    server = NgircdServer(tmp_path / "ngircd")
    server.start()
    assert server.tls_port is None and irc_server_answers(server.port, register=True)
    server.stop()
    server.stop()  # idempotent
    assert server.pid is None and not port_accepts(server.port)


async def test_server_password(tmp_path: Path) -> None:
    with NgircdServer(tmp_path / "ngircd", password="s3cret") as server:
        refused = await RawIrcClient.connect(server.port)
        try:
            with pytest.raises((ConnectionError, TimeoutError)):
                await refused.register("nopass", timeout=2)
            assert any(line.command in ("464", "ERROR") for line in refused.received)
        finally:
            await refused.close()
        client = await RawIrcClient.connect(server.port)
        try:
            await client.register("withpass", password="s3cret")
        finally:
            await client.close()


def test_config_shape(tmp_path: Path) -> None:
    server = NgircdServer(tmp_path / "ngircd", port=16667)
    text = server.config_text()
    assert "Ports = 16667" in text and "Listen = 127.0.0.1" in text and "[SSL]" not in text
    for setting in ("MaxConnectionsIP = 0", "MaxPenaltyTime = 0", "DNS = no", "Ident = no", "PAM = no"):
        assert setting in text
    assert not [line for line in text.splitlines() if "#" in line and not line.startswith("#")]  # no trailing comment
    with pytest.raises(ValueError):
        NgircdServer(tmp_path / "x", password="a\nPorts = 1")
    with pytest.raises(ValueError):
        NgircdServer(tmp_path / "x", cert=tmp_path / "cert.pem")


def test_parse_line() -> None:
    line = parse_line(r"@time=2024-01-01T00:00:00.000Z;x=a\sb\:c :nick!u@h PRIVMSG #c :hi there")
    assert (line.command, line.params, line.nick) == ("PRIVMSG", ("#c", "hi there"), "nick")
    assert line.tags == {"time": "2024-01-01T00:00:00.000Z", "x": "a b;c"}
    assert parse_line("PING :abc").params == ("abc",)
    assert parse_line(":srv 001 me :Welcome").params == ("me", "Welcome")
