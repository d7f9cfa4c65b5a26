"""The gateway as its own process: kill -9 with echoes in flight, and a SIGTERM drain."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slixmpp import Message

from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import LOOPBACK, GatewayProcess, raw_config, wait_until
from tests.support.xmpp_client import TestClient

ECHO = f"echo@{LOOPBACK}"


@dataclass(frozen=True)
class Row:
    id: int
    direction: str
    body: str
    status: str
    xmpp_id: str | None
    provider_id: str | None


def journal(db: Path) -> list[Row]:
    with sqlite3.connect(db) as connection:
        return [Row(*r) for r in connection.execute(
            "SELECT id, direction, body, status, xmpp_id, provider_id FROM journal ORDER BY id")]


def settled(db: Path) -> bool:
    """Nothing left to do: no inbound row waits for delivery, no outbound row waits for the transport."""
    return not [r for r in journal(db) if (r.direction, r.status) in (("in", "pending"), ("out", "accepted"))]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "gateway.db"


@pytest.fixture
def gateway_process(prosody: ProsodyServer, tmp_path: Path, database: Path) -> Iterator[GatewayProcess]:
    workdir = tmp_path / "gateway"
    workdir.mkdir()
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(),
                     database_url=f"sqlite:///{database}")
    process = GatewayProcess(raw, workdir)
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def inbox(alice: TestClient) -> AsyncIterator[list[Message]]:
    """Every message alice receives, in order."""
    received: list[Message] = []

    async def collect() -> None:
        while True:
            received.append(await alice.messages.get())

    task = asyncio.create_task(collect())
    yield received
    task.cancel()


async def send_stream(client: TestClient, bodies: list[str], pause: float) -> None:
    for body in bodies:
        message = client.make_message(mto=ECHO, mbody=body, mtype="chat")
        message["id"] = f"sent-{body}"
        message["request_receipt"] = True
        message.send()
        await asyncio.sleep(pause)


async def test_kill_9_with_echoes_in_flight_loses_nothing_that_was_journaled(
        gateway_process: GatewayProcess, alice: TestClient, inbox: list[Message], database: Path) -> None:
    # 200 messages over about a second; the kill lands in the middle of the stream, so messages are
    # caught in every state: echoed, journaled but not echoed, read but not journaled, not yet sent.
    sent = [f"crash {i}" for i in range(200)]
    sender = asyncio.create_task(send_stream(alice, sent, pause=0.005))
    await wait_until(lambda: len(inbox) >= 40, timeout=10, interval=0.001)
    gateway_process.signal(signal.SIGKILL)
    assert gateway_process.wait() == -signal.SIGKILL
    echoed_before_kill = len([m for m in inbox if m["type"] == "chat"])

    # The same config and database; in a thread, so that alice keeps sending while the gateway is away.
    await asyncio.to_thread(gateway_process.start)
    await sender

    def echoes() -> dict[str, list[str]]:
        ids: dict[str, list[str]] = defaultdict(list)
        for m in inbox:
            if m["type"] == "chat" and str(m["from"]) == ECHO:
                ids[m["body"]].append(m["id"])
        return ids

    # The last messages may still be on their way into the journal when the sender is done: wait until nothing
    # is open and every echo seen so far belongs to a journaled message (it never would, were one echoed unjournaled).
    def echoes_journaled() -> bool:
        return settled(database) and set(echoes()) <= {r.body for r in journal(database) if r.direction == "out"}

    await wait_until(echoes_journaled, timeout=15)
    await asyncio.sleep(0.3)  # late duplicates, or a last message still in the server, would show now
    await wait_until(echoes_journaled, timeout=15)
    rows = journal(database)
    outbound = {r.body: r for r in rows if r.direction == "out"}
    echo_rows = {r.provider_id: r for r in rows if r.direction == "in"}

    # The journal: every accepted outbound message has its echo journaled and delivered to the server.
    assert outbound, "the gateway journaled nothing before it was killed"
    for row in outbound.values():
        assert row.status == "delivered"
        assert echo_rows[f"loop-{row.id}"].status == "delivered"
        assert echo_rows[f"loop-{row.id}"].body == row.body

    # The client: each journaled message is echoed at least once. A copy written to the server just before
    # the kill, but not yet confirmed by a ping, is written again after the restart: "once" here means once
    # per stanza id, which is what clients deduplicate on. So every body has exactly one id, the journal's.
    await wait_until(lambda: set(echoes()) >= set(outbound), timeout=10)
    ids = echoes()
    assert set(ids) == set(outbound), "an echo for a message that was never journaled"
    for body, stanza_ids in ids.items():
        assert set(stanza_ids) == {echo_rows[f"loop-{outbound[body].id}"].xmpp_id}, body

    # Receipts: one per journaled message, each under one id, and none for a message that was not journaled.
    receipts: dict[str, set[str]] = defaultdict(set)
    for m in inbox:
        if m["receipt"]:
            receipts[m["receipt"]].add(m["id"])
    assert set(receipts) == {f"sent-{b}" for b in outbound}
    assert all(len(stanza_ids) == 1 for stanza_ids in receipts.values())

    # So each message sent ends in exactly one way the client can tell: echoed with a receipt (journaled);
    # bounced with an error by the server while the component was away; or neither, when the killed process
    # had read it from the stream but not yet journaled it: a component stream has no acknowledgements, and
    # the missing receipt is how the client learns of it.
    bounced = {m["id"] for m in inbox if m["type"] == "error"}
    assert not bounced & set(receipts)
    lost = [b for b in sent if b not in outbound and f"sent-{b}" not in bounced]
    assert len(outbound) + len(bounced) + len(lost) == len(sent)
    duplicates = sum(len(v) - 1 for v in ids.values())
    print(f"\n{len(sent)} sent; echoed before the kill: {echoed_before_kill}; journaled: {len(outbound)}; "
          f"redelivered duplicates (same id): {duplicates}; bounced by the server: {len(bounced)}; "
          f"read but not journaled: {len(lost)}")


async def test_sigterm_drains_says_goodbye_and_loses_nothing(
        gateway_process: GatewayProcess, alice: TestClient, inbox: list[Message], database: Path) -> None:
    presences: list[tuple[str, str]] = []
    alice.add_event_handler("presence", lambda p: presences.append((str(p["from"]), p["type"])))
    alice.send_presence(pto=ECHO, ptype="subscribe")
    await wait_until(lambda: (ECHO, "available") in presences, timeout=5)

    sent = [f"drain {i}" for i in range(100)]
    await send_stream(alice, sent, pause=0)
    await wait_until(lambda: any(m["body"].startswith("drain") for m in inbox), timeout=5, interval=0.001)
    signalled = time.monotonic()
    gateway_process.signal(signal.SIGTERM)  # with almost all of the 100 echoes still to come
    assert await asyncio.to_thread(gateway_process.wait, 10) == 0
    assert time.monotonic() - signalled < 5
    assert "not confirmed before shutdown" not in gateway_process.log()
    await wait_until(lambda: (ECHO, "unavailable") in presences, timeout=5)

    # The drain finished what was in flight: every message was echoed before the gateway closed its stream
    # (or, had one reached the server after that, bounced by it), and the journal holds nothing open.
    await asyncio.sleep(0.2)  # the last stanzas the server routed before the close
    echoed = {m["body"] for m in inbox if m["type"] == "chat" and str(m["from"]) == ECHO}
    bounced = {m["id"].removeprefix("sent-") for m in inbox if m["type"] == "error"}
    assert echoed | bounced == set(sent)
    assert settled(database)
    assert {r.body for r in journal(database) if r.direction == "out"} == echoed
