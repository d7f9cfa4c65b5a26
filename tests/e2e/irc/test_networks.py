"""Networks through the running gateway: a server a user names at 127.0.0.1 is refused with a clear error, and a
network added or removed with the CLI in another process is usable (or refused) within 2 s."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from slixmpp import JID
from slixmpp.exceptions import PresenceError

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import IRC, NETWORK, irc_config
from tests.e2e.irc.support import Presences
from tests.e2e.irc.test_rooms import MUC_USER, codes
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

WITHIN = 2.0  # DESIGN.md: a CLI change reaches a running gateway within 2 s


async def try_join(client: TestClient, room: str, nick: str = "alice") -> str:
    """'joined', or the error text of the refusal."""
    try:
        await client.plugin["xep_0045"].join_muc_wait(JID(f"{room}@{IRC}"), nick, timeout=10)
    except PresenceError as error:
        return str(error.presence["error"]["text"]) or str(error.presence["error"]["condition"])
    return "joined"


async def test_arbitrary_server_at_127_0_0_1_is_refused(prosody: ProsodyServer, ngircd: NgircdServer,
                                                        alice: TestClient, tmp_path: Path, sqlite_url: str) -> None:
    raw = irc_config(prosody, ngircd, sqlite_url, allow_arbitrary_servers=True)
    gateway = await start_gateway(raw, tmp_path)
    try:
        refused = await try_join(alice, "#x%127.0.0.1")
        assert "127.0.0.1" in refused and "internal address" in refused
        refused = await try_join(alice, "#x%localhost")  # a name is judged by what it resolves to
        assert "internal address" in refused
        assert await try_join(alice, "#x%test") == "joined"  # the configured network still works
    finally:
        await gateway.stop()


async def cli(config: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "admin", "irc", "network", *args, "-c", str(config), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def first_within(client: TestClient, room: str, expected: str, deadline: float) -> float:
    """Join `room` until the outcome contains `expected`; the seconds that took after `deadline` - WITHIN."""
    start = deadline - WITHIN
    while True:
        outcome = await try_join(client, room)
        if expected in outcome:
            return time.monotonic() - start
        assert time.monotonic() < deadline, f"still {outcome!r} {WITHIN} s after the CLI change"
        await asyncio.sleep(0.1)


async def test_a_network_added_with_the_cli_is_usable_within_2_s(
        prosody: ProsodyServer, ngircd: NgircdServer, alice: TestClient, tmp_path: Path, sqlite_url: str) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    config = tmp_path / "cli.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    try:
        assert "no IRC network named 'other'" in await try_join(alice, "#live%other")  # cached as absent now
        await cli(config, "add", "other", "127.0.0.1", "--port", str(ngircd.port), "--no-tls")
        assert await first_within(alice, "#live%other", "joined", time.monotonic() + WITHIN) <= WITHIN
        alice.plugin["xep_0045"].leave_muc(JID(f"#live%other@{IRC}"), "alice")

        listed = await cli(config, "list")
        assert "other" in listed and "test" in listed  # the config's network was upserted at start
        await cli(config, "remove", "other")
        assert await first_within(alice, "#gone%other", "no IRC network named", time.monotonic() + WITHIN) <= WITHIN
    finally:
        await gateway.stop()


async def test_removing_a_network_closes_its_connections_within_2_s(
        prosody: ProsodyServer, ngircd: NgircdServer, alice: TestClient, bob: RawIrcClient, tmp_path: Path,
        sqlite_url: str) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url), tmp_path)
    config = tmp_path / "cli.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    presences = Presences(alice)
    try:
        await cli(config, "add", "doomed", "127.0.0.1", "--port", str(ngircd.port), "--no-tls")
        await bob.join("#doomed")
        assert await first_within(alice, "#doomed%doomed", "joined", time.monotonic() + WITHIN) <= WITHIN
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)

        await cli(config, "remove", "doomed")
        removed = time.monotonic()
        quit_line = await bob.expect(lambda line: line.command == "QUIT" and line.nick == "alice", timeout=5)
        assert time.monotonic() - removed <= WITHIN
        assert "removed" in quit_line.params[-1].lower()
        left = await presences.next(lambda p: p["type"] == "unavailable" and
                                    str(p["from"]) == f"#doomed%doomed@{IRC}/alice", timeout=5)
        assert {"110", "333"} <= codes(left)
        assert "removed the IRC network doomed" in left.xml.findtext(f"{MUC_USER}x/{MUC_USER}item/{MUC_USER}reason")
        sessions = gateway.transports["irc"].sessions  # type: ignore[attr-defined]
        assert sessions.get("alice@localhost", "doomed") is None
    finally:
        await gateway.stop()


async def user_cli(config: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMPP_GATEWAY_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "admin", "user", *args, "-c", str(config), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()


async def test_a_user_removed_or_disabled_by_the_cli_loses_their_irc_connections_within_2_s(
        prosody: ProsodyServer, ngircd: NgircdServer, alice: TestClient, bob: RawIrcClient, tmp_path: Path,
        sqlite_url: str) -> None:
    gateway = await start_gateway(irc_config(prosody, ngircd, sqlite_url, access="closed"), tmp_path)
    config = tmp_path / "cli.toml"  # the CLI checks `-t irc` against the configured transports
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n[transports.irc]\njid = "{IRC}"\nsecret = "s"\n')
    presences = Presences(alice)
    sessions = gateway.transports["irc"].sessions  # type: ignore[attr-defined]
    try:
        await bob.join("#members")
        await user_cli(config, "add", "alice@localhost", "-t", "irc")
        for change, reason in (("disable", "disabled"), ("remove", "not a user of this gateway")):
            if change == "remove":
                await user_cli(config, "enable", "alice@localhost")
            assert await first_within(alice, f"#members%{NETWORK}", "joined", time.monotonic() + WITHIN) <= WITHIN
            await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice", timeout=10)

            await user_cli(config, change, "alice@localhost")
            changed = time.monotonic()
            await bob.expect(lambda line: line.command == "QUIT" and line.nick == "alice", timeout=5)
            assert time.monotonic() - changed <= WITHIN + 0.5  # the CLI's own exit is inside the measure
            left = await presences.next(lambda p: p["type"] == "unavailable" and
                                        str(p["from"]) == f"#members%{NETWORK}@{IRC}/alice", timeout=5)
            assert {"110", "333"} <= codes(left)
            assert reason in left.xml.findtext(f"{MUC_USER}x/{MUC_USER}item/{MUC_USER}reason")
            assert sessions.get("alice@localhost", NETWORK) is None
    finally:
        await gateway.stop()
