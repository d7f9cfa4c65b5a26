"""Liveness through XMPP: the IRC server stops answering (paused with SIGSTOP), the gateway's PING goes
unanswered, it drops the link, reconnects once the server is back and rejoins; the XMPP user sees the room come
back without doing anything."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, room_jid
from tests.e2e.irc.support import Presences, irc_config_for
from tests.e2e.irc.test_rooms import codes, join
from tests.support.stack import start_gateway
from tests.support.xmpp_client import TestClient


async def test_ping_timeout_reconnects_and_the_room_comes_back(
        prosody: ProsodyServer, ngircd: NgircdServer, tmp_path: Path, sqlite_url: str, alice: TestClient) -> None:
    raw = irc_config_for(prosody, ngircd.port, sqlite_url, ping_interval=0.5, ping_timeout=1.0)
    running = await start_gateway(raw, tmp_path)
    pid = ngircd.pid
    assert pid is not None
    paused = False
    try:
        await join(alice, "#alive", "alice")
        presences = Presences(alice)
        os.kill(pid, signal.SIGSTOP)
        paused = True
        lost = await alice.next_message(10, lambda m: m["type"] == "groupchat" and "reconnecting" in m["body"])
        assert lost["from"] == room_jid("#alive")
        assert "PING" in lost["body"], lost["body"]  # the reason is the unanswered PING, not a closed socket
        os.kill(pid, signal.SIGCONT)
        paused = False
        back = await presences.next(lambda p: p["from"].resource == "alice" and p["type"] == "available"
                                    and "110" in codes(p), timeout=30)
        assert back["from"].bare == room_jid("#alive")
        connection = running.transports["irc"].sessions.get("alice@localhost", NETWORK)  # type: ignore[attr-defined]
        assert connection is not None and connection.connected
        witness = await RawIrcClient.connect(ngircd.port)
        try:
            await witness.register("witness")
            await witness.join("#alive")
            assert any(line.command == "353" and "alice" in line.params[-1] for line in witness.received)
        finally:
            await witness.close()
    finally:
        if paused:
            os.kill(pid, signal.SIGCONT)
        await running.stop()
