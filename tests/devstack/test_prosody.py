"""The Prosody launcher gives a working server: accounts, c2s messages, components, restart, XEP-0356."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest
from slixmpp import JID

from gateway.devstack.ports import port_accepts
from gateway.devstack.prosody import ComponentSpec, ProsodyServer
from tests.support.xmpp_client import TestClient, TestComponent


def _component(server: ProsodyServer, prefix: str) -> ComponentSpec:
    return next(c for c in server.components if c.domain.startswith(prefix))


def _user(server: ProsodyServer) -> tuple[str, str]:
    name, password = f"u{secrets.token_hex(4)}", secrets.token_hex(8)
    return server.register(name, password), password


@pytest.mark.asyncio
async def test_message_between_two_users(prosody: ProsodyServer) -> None:
    (alice_jid, alice_pw), (bob_jid, bob_pw) = _user(prosody), _user(prosody)
    alice, bob = TestClient(alice_jid, alice_pw), TestClient(bob_jid, bob_pw)
    await alice.start("127.0.0.1", prosody.c2s_port)
    await bob.start("127.0.0.1", prosody.c2s_port)
    try:
        alice.send_message(mto=JID(bob_jid), mbody="hello bob", mtype="chat")
        msg = await bob.next_message(predicate=lambda m: bool(m["body"]))
        assert msg["body"] == "hello bob"
        assert msg["from"].bare == alice_jid
    finally:
        await alice.stop()
        await bob.stop()


@pytest.mark.asyncio
async def test_component_connects_and_receives(prosody: ProsodyServer) -> None:
    irc = _component(prosody, "irc.")
    component = TestComponent(irc.domain, irc.secret)
    await component.start("127.0.0.1", prosody.component_port)
    jid, password = _user(prosody)
    client = TestClient(jid, password)
    await client.start("127.0.0.1", prosody.c2s_port)
    try:
        # disco#info on the component, routed by the server over the component stream
        info = await client.plugin["xep_0030"].get_info(jid=JID(irc.domain), timeout=5)
        assert "http://jabber.org/protocol/disco#info" in info["disco_info"]["features"]
        client.send_message(mto=JID(f"alice%libera@{irc.domain}"), mbody="hi", mtype="chat")
        msg = await component.next_message(predicate=lambda m: m["body"] == "hi")
        assert msg["from"].bare == jid
    finally:
        await client.stop()
        await component.stop()


@pytest.mark.asyncio
async def test_component_with_wrong_secret_is_refused(prosody: ProsodyServer) -> None:
    component = TestComponent(_component(prosody, "irc.").domain, "not-the-secret")
    with pytest.raises(ConnectionError):
        await component.start("127.0.0.1", prosody.component_port, timeout=5)


@pytest.mark.asyncio
async def test_privileged_component_gets_xep0356_grant(prosody: ProsodyServer) -> None:
    sms = _component(prosody, "sms.")
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
    jid, password = _user(prosody)
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
    jid, _ = _user(prosody)
    with pytest.raises(ConnectionError, match="authentication failed"):
        await TestClient(jid, "wrong password").start("127.0.0.1", prosody.c2s_port, timeout=5)
    prosody.stop()
    with pytest.raises(ConnectionError, match="connection failed"):
        await TestClient(jid, "whatever").start("127.0.0.1", prosody.c2s_port, timeout=5)
