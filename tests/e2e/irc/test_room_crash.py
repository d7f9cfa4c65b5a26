"""Room messages across a kill -9 of the gateway process: what was journaled is finished by the next run.

Out: a group-chat message journaled but still in the flood queue when the process died is sent to the channel
once the next run has brought the user back into the room (and answered with an error if the room refuses them).
In: a channel message journaled but not confirmed by the XMPP server (Prosody paused) is shown then too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slixmpp import Message

from gateway.devstack.ngircd import NgircdServer, RawIrcClient
from gateway.devstack.prosody import ProsodyServer
from tests.e2e.irc.conftest import NETWORK, irc_config, room_jid
from tests.e2e.irc.test_rooms import groupchat, join, privmsg_to, stanza_id
from tests.support.stack import GatewayProcess, wait_until
from tests.support.xmpp_client import TestClient


def rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(
            "SELECT id, direction, peer, body, status, xmpp_id FROM journal ORDER BY id")]


def status_of(db: Path, direction: str, body: str) -> str | None:
    return next((r["status"] for r in rows(db) if r["direction"] == direction and r["body"] == body), None)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "gateway.db"


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for process in started:
        process.stop()


def run_gateway(processes: list[GatewayProcess], raw: dict[str, Any], workdir: Path) -> GatewayProcess:
    workdir.mkdir(exist_ok=True)
    networks = raw["transports"]["irc"].pop("networks")
    process = GatewayProcess(raw, workdir)
    with process.config_path.open("a") as config:  # to_toml has no arrays of tables
        for network in networks:
            config.write("[[transports.irc.networks]]\n")
            config.writelines(f"{key} = {json.dumps(value)}\n" for key, value in network.items())
    process.start()
    processes.append(process)
    return process


async def test_room_messages_journaled_before_a_kill_9_are_finished_after_the_restart(
        prosody: ProsodyServer, ngircd: NgircdServer, alice: TestClient, bob: RawIrcClient, tmp_path: Path,
        database: Path, processes: list[GatewayProcess]) -> None:
    url = f"sqlite:///{database}"
    # 20 lines at once, then one every 20 s: a 40-line message uses up the burst, so what alice sends after it
    # waits in the flood queue, journaled.
    slow = irc_config(prosody, ngircd, url, flood_burst=20, flood_rate=0.05)
    first = run_gateway(processes, slow, tmp_path / "run1")
    await bob.join("#kept")
    await bob.join("#left")
    await join(alice, "#kept", "alice")
    await join(alice, "#left", "alice")

    def say(channel: str, body: str) -> None:
        stanza = alice.make_message(mto=room_jid(channel), mbody=body, mtype="groupchat")
        stanza["id"] = body.partition("\n")[0]
        stanza.send()

    say("#kept", "\n".join(f"filler {n}" for n in range(40)))
    await bob.expect(privmsg_to("#kept", "filler 0"), timeout=10)
    say("#kept", "queued one")
    say("#kept", "queued two")
    say("#left", "queued elsewhere")
    await wait_until(lambda: [status_of(database, "out", b) for b in ("queued one", "queued two", "queued elsewhere")]
                     == ["accepted"] * 3, timeout=10)

    # Inbound: the XMPP server stops reading, so what bob says now is journaled but never confirmed.
    assert prosody.pid is not None
    os.kill(prosody.pid, signal.SIGSTOP)
    try:
        await bob.send("PRIVMSG #kept :said while the server was stalled")
        await wait_until(lambda: status_of(database, "in", "said while the server was stalled") == "pending",
                         timeout=10)
        first.signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    finally:
        os.kill(prosody.pid, signal.SIGCONT)
    inbound = next(r for r in rows(database) if r["body"] == "said while the server was stalled")
    assert inbound["peer"] == f"#kept%{NETWORK}"

    # While the gateway is down, #left becomes invite-only: the next run cannot bring alice back there.
    await bob.send("MODE #left +i")
    await bob.expect_command("MODE")

    # The next run, at full speed, with the same database; alice does nothing.
    received: list[Message] = []
    alice.add_event_handler("groupchat_message", received.append)
    errors: list[Message] = []
    alice.add_event_handler("message_error", errors.append)
    await asyncio.to_thread(run_gateway, processes, irc_config(prosody, ngircd, url), tmp_path / "run2")

    # #left refuses the rejoin: its queued message is answered with an error saying why.
    await wait_until(lambda: any(e["id"] == "queued elsewhere" for e in errors), timeout=15)
    error = next(e for e in errors if e["id"] == "queued elsewhere")
    assert error["error"]["condition"] == "recipient-unavailable"
    assert "Could not rejoin the room" in error["error"]["text"]
    assert status_of(database, "out", "queued elsewhere") == "failed"

    # alice is back in #kept by herself: the two queued messages reach the channel, in order, and are reflected.
    await bob.expect(privmsg_to("#kept", "queued one"), timeout=15)
    await bob.expect(privmsg_to("#kept", "queued two"), timeout=10)
    await wait_until(lambda: [status_of(database, "out", b) for b in ("queued one", "queued two")] == ["sent"] * 2,
                     timeout=10)
    await wait_until(lambda: {"queued one", "queued two"} <= {m["id"] for m in received}, timeout=10)

    # ... and the message journaled while the server was stalled is shown with the journal's id.
    await wait_until(lambda: status_of(database, "in", "said while the server was stalled") == "delivered",
                     timeout=10)
    shown = [m for m in received if m["body"] == "said while the server was stalled"]
    assert shown and all(stanza_id(m) == inbound["xmpp_id"] for m in shown)
    assert str(shown[-1]["from"]) == f"{room_jid('#kept')}/bob"
    assert groupchat("queued one")(next(m for m in received if m["id"] == "queued one"))
