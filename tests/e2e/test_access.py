"""Access policy on a real server: refusals come back as XMPP errors with text, and nothing is journaled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from tests.support.stack import LOOPBACK, LOOPBACK_SECRET, raw_config, start_gateway
from tests.support.xmpp_client import TestClient

ECHO = f"echo@{LOOPBACK}"


async def gateway_with(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str, admins: tuple[str, ...] = (),
                       **access: Any) -> Gateway:
    loopback = {"jid": LOOPBACK, "secret": LOOPBACK_SECRET, **access}
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url,
                     admins=admins, transports={"loopback": loopback})
    return await start_gateway(raw, tmp_path)


@pytest.fixture
async def clients(prosody: ProsodyServer) -> AsyncIterator[dict[str, TestClient]]:
    """Logged-in clients by local part."""
    started: dict[str, TestClient] = {}
    for name in ("alice", "bob", "carol", "dave", "team-x"):
        client = TestClient(prosody.register(name, "pw"), "pw")
        await client.start(port=prosody.c2s_port)
        started[name] = client
    yield started
    for client in started.values():
        await client.stop()


async def send(client: TestClient, body: str) -> Any:
    """Send `body` to the echo address; the echo or the error that came back."""
    message = client.make_message(mto=ECHO, mbody=body, mtype="chat")
    message["id"] = f"id-{body}"
    message.send()
    return await client.next_message(predicate=lambda m: m["id"] == f"id-{body}" or m["body"] == body)


def assert_refused(reply: Any, condition: str, *words: str) -> None:
    assert reply["type"] == "error", reply
    assert str(reply["from"]) == ECHO
    assert reply["error"]["condition"] == condition
    for word in words:
        assert word in reply["error"]["text"]


def assert_echoed(reply: Any) -> None:
    assert reply["type"] == "chat", reply
    assert str(reply["from"]) == ECHO


async def test_closed_lets_only_users_and_admins_in(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str,
                                                    clients: dict[str, TestClient]) -> None:
    gateway = await gateway_with(prosody, tmp_path, sqlite_url, admins=("bob@localhost",), access="closed")
    try:
        assert gateway.store is not None
        await gateway.store.users.add("carol@localhost", transports=["loopback"])
        await gateway.store.users.add("dave@localhost", transports=["loopback"])
        await gateway.store.users.update("dave@localhost", enabled=False)

        assert_refused(await send(clients["alice"], "stranger"), "registration-required",
                       "alice@localhost", "not a user", "admin")
        assert_refused(await send(clients["dave"], "disabled"), "forbidden", "disabled")
        journal = await gateway.store.journal.history()
        assert journal == [], "a refused message must not be journaled"

        assert_echoed(await send(clients["bob"], "admin"))  # in the config, not in the database
        assert_echoed(await send(clients["carol"], "user"))
        rows = await gateway.store.journal.history()
        assert {(r.user_jid, r.body) for r in rows} == {("bob@localhost", "admin"), ("carol@localhost", "user")}
    finally:
        await gateway.stop()


async def test_allowlist_lets_matching_jids_in(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str,
                                               clients: dict[str, TestClient]) -> None:
    gateway = await gateway_with(prosody, tmp_path, sqlite_url, access="allowlist",
                                 allowlist=["alice@localhost", "team-*@localhost"])
    try:
        assert gateway.store is not None
        assert_echoed(await send(clients["alice"], "listed"))
        assert_echoed(await send(clients["team-x"], "pattern"))
        assert_refused(await send(clients["bob"], "unlisted"), "forbidden", "bob@localhost", "not allowed")
        rows = await gateway.store.journal.history()
        assert "bob@localhost" not in {r.user_jid for r in rows}
    finally:
        await gateway.stop()


async def test_contacts_shown_to_a_stranger_are_not_kept(prosody: ProsodyServer, tmp_path: Path, sqlite_url: str,
                                                          clients: dict[str, TestClient]) -> None:
    """Anyone may probe any address of the component; what is kept to say "unavailable" later is kept for its users
    only, or it grew with every address a stranger probed."""
    gateway = await gateway_with(prosody, tmp_path, sqlite_url, admins=("bob@localhost",), access="closed")
    try:
        for name in ("dave", "bob"):
            for n in range(20):
                clients[name].send_presence(pto=f"contact{n}@{LOOPBACK}", ptype="probe")
            await clients[name].plugin["xep_0199"].ping(jid=LOOPBACK, timeout=5)  # the probes were handled
        presented = gateway.components["loopback"]._presented
        assert {user for _, user in presented} == {"bob@localhost"}
        assert len(presented) == 20
    finally:
        await gateway.stop()
