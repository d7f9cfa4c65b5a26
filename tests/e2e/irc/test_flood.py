"""Flood control seen from both ends: a burst of 200 lines from XMPP reaches the IRC server whole, in order, and
paced at the configured burst and rate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import room_jid
from tests.e2e.irc.support import irc_config_for
from tests.e2e.irc.test_rooms import join, privmsg_to
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient

BURST, RATE, LINES = 5, 40.0, 200


async def test_a_burst_of_200_lines_arrives_whole_in_order_at_the_configured_rate(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient,
        bob: RawIrcClient) -> None:
    raw = irc_config_for(prosody, ngircd.port, sqlite_url, flood_burst=BURST, flood_rate=RATE)
    running = await start_gateway(raw, tmp_path)
    try:
        await bob.join("#burst")
        await join(alice, "#burst", "alice")
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == "alice")
        await bob.send("PING :settle")
        await bob.expect_command("PONG")
        # The join spent tokens of the bucket: let it fill up again before the burst.
        await asyncio.sleep(BURST / RATE + 0.2)
        for n in range(LINES):
            alice.send_message(mto=room_jid("#burst"), mbody=f"line {n:03d}", mtype="groupchat")
        arrivals: list[tuple[float, str]] = []
        while len(arrivals) < LINES:
            line = await bob.expect(privmsg_to("#burst"), timeout=10)
            arrivals.append((time.monotonic(), line.params[1]))
        assert [text for _, text in arrivals] == [f"line {n:03d}" for n in range(LINES)]
        start = arrivals[0][0]
        elapsed = arrivals[-1][0] - start
        paced = (LINES - BURST) / RATE  # 4.9 s: the burst at once, then RATE lines a second
        assert paced * 0.85 <= elapsed <= paced * 1.5 + 1.0, f"200 lines took {elapsed:.2f} s, expected ~{paced:.1f}"
        first_second = sum(1 for t, _ in arrivals if t - start <= 1.0)
        assert first_second <= BURST + RATE * 1.0 + 4, f"{first_second} lines in the first second"
    finally:
        await running.stop()
