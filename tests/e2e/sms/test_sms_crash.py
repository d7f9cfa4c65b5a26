"""kill -9 of the gateway in the middle of an outbox burst: after a restart every accepted text was created
exactly once on the (Twilio-compatible) sandbox, in order - including the one whose create was in flight."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from gateway.store.store import Store
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER, sms_config
from tests.e2e.sms.support import Inbox, RecordingSandbox, send_text
from tests.support.stack import GatewayProcess, wait_until
from tests.support.xmpp_client import TestClient

BODIES = [f"burst before the crash {n:02d}" for n in range(30)]
IN_FLIGHT = BODIES[9]  # Twilio creates it, and the gateway dies waiting for the answer


@pytest.fixture
def sandbox(recording_sandbox: RecordingSandbox) -> RecordingSandbox:
    return recording_sandbox


def rows(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute("SELECT body, status, provider_id FROM journal WHERE direction = 'out' "
                                       "ORDER BY id"))


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Path]:
    """A migrated database where an admin bound ALICE_NUMBER to alice."""
    path = tmp_path / "gateway.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}", migrate=True)
    await store.users.add("alice@localhost")
    await store.bindings.bind("alice@localhost", "sms", ALICE_NUMBER)
    await store.close()
    yield path


async def test_kill_9_during_an_outbox_burst_loses_nothing_and_sends_nothing_twice(
        prosody: ProsodyServer, sandbox: RecordingSandbox, alice: TestClient, database: Path, tmp_path: Path
) -> None:
    http_port = free_port()
    url = f"sqlite:///{database}"
    processes = []

    async def start(rate: float) -> GatewayProcess:
        workdir = tmp_path / f"gateway-{len(processes)}"
        workdir.mkdir()
        process = GatewayProcess(sms_config(prosody, sandbox, url, http_port, rate=rate, burst=1), workdir)
        processes.append(process)
        await asyncio.to_thread(process.start)  # the sandbox runs on this loop: do not block it
        return process

    try:
        first = await start(rate=5.0)
        inbox = Inbox(alice)
        sandbox.hold(IN_FLIGHT, mode="after")
        for n, body in enumerate(BODIES):
            send_text(alice, PEER, body, f"crash-{n}")
        await asyncio.wait_for(sandbox.held.wait(), 15)
        await wait_until(lambda: len(rows(database)) == len(BODIES))  # all 30 accepted
        first.signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.wait) == -signal.SIGKILL
        sandbox.release()

        before = rows(database)
        assert [m.body for m in sandbox.sent_to(PEER)] == BODIES[:10]
        assert {status for _, status, _ in before[:9]} <= {"sent", "delivered"}
        assert before[9][:2] == (IN_FLIGHT, "sending")  # Twilio has it; the gateway never heard back
        assert {status for _, status, _ in before[10:]} == {"accepted"}

        await start(rate=20.0)
        await wait_until(lambda: len(sandbox.sent_to(PEER)) >= len(BODIES), timeout=15)
        await wait_until(lambda: {status for _, status, _ in rows(database)} <= {"sent", "delivered"})
        await sandbox.idle()
        assert [m.body for m in sandbox.sent_to(PEER)] == BODIES  # each once, in order
        assert len(sandbox.creates(PEER)) == len(BODIES)  # not even a refused second try of the one in flight
        after = rows(database)
        assert [body for body, _, _ in after] == BODIES
        assert [sid for _, _, sid in after] == [m.sid for m in sandbox.sent_to(PEER)]
        assert not inbox.matching(lambda m: m["type"] == "error")
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)
