"""Two SMS transports side by side in one gateway: `[transports.sms]` and `[transports.sms-work]` with
`type = "sms"`, each with its own domain, Twilio account (a sandbox of its own) and number. Texts go out and
come in on the right domain, webhooks and status callbacks reach the right instance, and no state of one
(bindings, blocks, opt-outs, outbox pacing, journal rows) shows in the other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from gateway.store.journal import JournalRow
from tests.e2e.sms.conftest import ACCOUNT_SID, ALICE_NUMBER, AUTH_TOKEN, PEER, SMS, SMS_SECRET
from tests.e2e.sms.support import Inbox, RecordingSandbox, error_of, inbound_params, post_form, send_text
from tests.support.stack import raw_config, start_gateway, wait_until
from tests.support.xmpp_client import TestClient

WORK = "sms-work.localhost"
WORK_SECRET = "sms-work-secret"
WORK_ACCOUNT_SID = "AC" + "b7" * 16
WORK_AUTH_TOKEN = "work-auth-token"
WORK_NUMBER = "+12025550188"  # alice's number on the work account
ALICE = "alice@localhost"
PACE = 0.5  # texts per second from the personal number: its second text waits 2 s, the work one must not


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """Prosody with both SMS components declared."""
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(SMS, SMS_SECRET),
                                                         ComponentSpec(WORK, WORK_SECRET)]) as server:
        yield server


@pytest.fixture
async def sandboxes() -> AsyncIterator[tuple[RecordingSandbox, RecordingSandbox]]:
    personal = RecordingSandbox(ACCOUNT_SID, AUTH_TOKEN, numbers=[ALICE_NUMBER], status_delay=0.01,
                                retry_delay=0.05)
    work = RecordingSandbox(WORK_ACCOUNT_SID, WORK_AUTH_TOKEN, numbers=[WORK_NUMBER], status_delay=0.01,
                            retry_delay=0.05)
    await personal.start()
    await work.start()
    yield personal, work
    await work.stop()
    await personal.stop()


@pytest.fixture
async def two(prosody: ProsodyServer, sandboxes: tuple[RecordingSandbox, RecordingSandbox], tmp_path: Path,
              sqlite_url: str) -> AsyncIterator[Gateway]:
    personal, work = sandboxes
    http_port = free_port()
    # Each account's numbers are configured at Twilio with their instance's webhook URL.
    personal.webhook_url = f"http://127.0.0.1:{http_port}/sms/inbound"
    work.webhook_url = f"http://127.0.0.1:{http_port}/sms-work/inbound"
    common: dict[str, Any] = {"access": "open"}
    transports = {
        "sms": {"jid": SMS, "secret": SMS_SECRET, "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                "api_base_url": personal.url, "rate": PACE, "burst": 1, **common},
        "sms-work": {"type": "sms", "jid": WORK, "secret": WORK_SECRET, "account_sid": WORK_ACCOUNT_SID,
                     "auth_token": WORK_AUTH_TOKEN, "api_base_url": work.url, "rate": 100.0, "burst": 100,
                     **common},
    }
    running = await start_gateway(raw_config(component_port=prosody.component_port, http_port=http_port,
                                             database_url=sqlite_url, transports=transports), tmp_path)
    assert running.store is not None
    await running.store.users.add(ALICE)
    await running.store.bindings.bind(ALICE, "sms", ALICE_NUMBER)
    await running.store.bindings.bind(ALICE, "sms-work", WORK_NUMBER)
    yield running
    await running.stop()


async def rows(gateway: Gateway, transport: str, direction: Direction) -> list[JournalRow]:
    assert gateway.store is not None
    return await gateway.store.journal.history(transport=transport, direction=direction)


async def test_two_sms_instances_keep_apart(two: Gateway, sandboxes: tuple[RecordingSandbox, RecordingSandbox],
                                            alice: TestClient) -> None:
    personal, work = sandboxes
    store = two.store
    assert store is not None
    inbox = Inbox(alice)
    assert {name: c.domain for name, c in two.components.items()} == {"sms": SMS, "sms-work": WORK}

    # -- out, each from its own account and number; the receipt comes from the domain it went to ---------------
    send_text(alice, f"{PEER}@{SMS}", "personal 1", "p-1", receipt=True)
    send_text(alice, f"{PEER}@{SMS}", "personal 2", "p-2", receipt=True)  # paced: waits 1/PACE s
    send_text(alice, f"{PEER}@{WORK}", "work 1", "w-1", receipt=True)
    receipts = await inbox.wait_for(lambda m: m["receipt"] in ("p-1", "p-2", "w-1"), count=3)
    assert {(m["receipt"], str(m["from"])) for m in receipts} == {
        ("p-1", f"{PEER}@{SMS}"), ("p-2", f"{PEER}@{SMS}"), ("w-1", f"{PEER}@{WORK}")}
    assert [(m.from_, m.body, m.status) for m in personal.sent_to(PEER)] == [
        (ALICE_NUMBER, "personal 1", "delivered"), (ALICE_NUMBER, "personal 2", "delivered")]
    assert [(m.from_, m.body, m.status) for m in work.sent_to(PEER)] == [(WORK_NUMBER, "work 1", "delivered")]
    # Status callbacks go to each instance's own path (and were accepted: the receipts above).
    assert all(m.status_callback and "/sms/status?" in m.status_callback for m in personal.sent_to(PEER))
    assert all(m.status_callback and "/sms-work/status?" in m.status_callback for m in work.sent_to(PEER))
    # Pacing is per instance: the personal number's second text waited, the work text did not wait for it.
    [p1, p2] = personal.creates(PEER)
    [w1] = work.creates(PEER)
    assert p2.at - p1.at >= 1 / PACE - 0.3
    assert w1.at < p2.at

    # -- in, each on its own domain ----------------------------------------------------------------------------
    assert (await personal.send_inbound(PEER, ALICE_NUMBER, "reply personal")).status == 200
    assert (await work.send_inbound(PEER, WORK_NUMBER, "reply work")).status == 200
    await inbox.wait_for(lambda m: m["body"] in ("reply personal", "reply work"), count=2)
    assert inbox.bodies_from(f"{PEER}@{SMS}") == ["reply personal"]
    assert inbox.bodies_from(f"{PEER}@{WORK}") == ["reply work"]

    # -- a webhook signed by one account is refused at the other instance's path ------------------------------
    url = f"{two.config.http.base_url}/sms/inbound"
    params = inbound_params(PEER, WORK_NUMBER, "wrong door", "SM" + "0" * 32, AccountSid=WORK_ACCOUNT_SID)
    status, _ = await post_form(url, params, work.sign(url, params))
    assert status == 403

    # -- bindings and journal rows are the instance's ----------------------------------------------------------
    assert [b.address for b in await store.bindings.find("sms", ALICE)] == [ALICE_NUMBER]
    assert [b.address for b in await store.bindings.find("sms-work", ALICE)] == [WORK_NUMBER]
    assert sorted(r.body for r in await rows(two, "sms", Direction.OUT)) == ["personal 1", "personal 2"]
    assert [r.body for r in await rows(two, "sms-work", Direction.OUT)] == ["work 1"]
    assert [r.body for r in await rows(two, "sms", Direction.IN)] == ["reply personal"]
    assert [r.body for r in await rows(two, "sms-work", Direction.IN)] == ["reply work"]

    # -- a block on one instance does not silence the other ---------------------------------------------------
    await store.sms.block("sms-work", ALICE, PEER)
    await work.send_inbound(PEER, WORK_NUMBER, "blocked at work")
    await personal.send_inbound(PEER, ALICE_NUMBER, "still personal")
    await inbox.wait_for(lambda m: m["body"] == "still personal")

    async def blocked_at_work() -> bool:
        return [(r.body, r.status) for r in await rows(two, "sms-work", Direction.IN)][-1:] == [
            ("blocked at work", Status.BLOCKED)]

    await wait_until(blocked_at_work, timeout=5)
    assert "blocked at work" not in [m["body"] for m in inbox.messages]
    assert [(r.jid, r.blocks_sender) for r in await store.sms.recipients("sms", ALICE_NUMBER, PEER)] == [
        (ALICE, False)]

    # -- an opt-out (STOP to the work number) refuses texts from that number only -----------------------------
    await work.send_inbound(PEER, WORK_NUMBER, "STOP")
    send_text(alice, f"{PEER}@{WORK}", "after stop", "w-2")
    condition, _ = error_of(await inbox.error_for("w-2"))
    assert condition == "forbidden"
    send_text(alice, f"{PEER}@{SMS}", "personal after stop", "p-3", receipt=True)
    await inbox.wait_for(lambda m: m["receipt"] == "p-3")
    assert [m.body for m in work.sent_to(PEER)] == ["work 1"]
    assert personal.sent_to(PEER)[-1].body == "personal after stop"
    inbox.close()

