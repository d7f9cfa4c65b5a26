"""The Prosody launcher: XEP-0356 grants, restart, stop (what ejabberd does alike is in test_xmpp_servers)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from gateway.devstack.ports import port_accepts
from gateway.devstack.prosody import ProsodyServer
from tests.devstack.conftest import component_spec, new_user
from tests.support.xmpp_client import TestClient, TestComponent


@pytest.mark.asyncio
async def test_privileged_component_gets_xep0356_grant(prosody: ProsodyServer) -> None:
    sms = component_spec(prosody, "sms.")
    component = TestComponent(sms.domain, sms.secret)
    await component.start("127.0.0.1", prosody.component_port)
    try:
        msg = await component.next_message(
            predicate=lambda m: m.xml.find("{urn:xmpp:privilege:2}privilege") is not None
        )
        perms = {p.get("access"): p.get("type") for p in msg.xml.iter("{urn:xmpp:privilege:2}perm")}
        assert perms == {"roster": "both", "message": "outgoing"}
    finally:
        await component.stop()


@pytest.mark.asyncio
async def test_restart_keeps_ports_and_accounts(prosody: ProsodyServer) -> None:
    jid, password = new_user(prosody)
    ports = (prosody.c2s_port, prosody.component_port)
    await asyncio.to_thread(prosody.restart)
    assert prosody.running and (prosody.c2s_port, prosody.component_port) == ports
    client = TestClient(jid, password)
    await client.start("127.0.0.1", prosody.c2s_port)
    await client.stop()


def test_stop_is_idempotent_and_frees_ports(prosody: ProsodyServer) -> None:
    pid = prosody.pid
    assert pid is not None
    prosody.stop()
    prosody.stop()
    assert not prosody.running
    assert not port_accepts(prosody.c2s_port) and not port_accepts(prosody.component_port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.asyncio
async def test_client_start_fails_clearly(prosody: ProsodyServer) -> None:
    jid, _ = new_user(prosody)
    with pytest.raises(ConnectionError, match="authentication failed"):
        await TestClient(jid, "wrong password").start("127.0.0.1", prosody.c2s_port, timeout=5)
    prosody.stop()
    with pytest.raises(ConnectionError, match="connection failed"):
        await TestClient(jid, "whatever").start("127.0.0.1", prosody.c2s_port, timeout=5)


def test_nagle_stays_prosodys_default_unless_turned_off(tmp_path: Path) -> None:
    server = ProsodyServer(tmp_path / "prosody")
    assert "network_settings" not in server.config_text()
    server.nagle = False
    assert "network_settings = { nagle = false }" in server.config_text().splitlines()
