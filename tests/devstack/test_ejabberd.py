"""The ejabberd launcher gives a working server: accounts, c2s messages, components, restart, XEP-0356."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from pathlib import Path

import pytest
from slixmpp import JID

from gateway.devstack.ejabberd import EjabberdServer, ejabberd_available
from gateway.devstack.ports import port_accepts
from gateway.devstack.prosody import ComponentSpec
from tests.support.xmpp_client import TestClient, TestComponent

# ejabberd 23.01 speaks XEP-0356 v1; newer servers (and Prosody's module) v2.
PRIVILEGE_NS = ("urn:xmpp:privilege:1", "urn:xmpp:privilege:2")


def _component(server: EjabberdServer, prefix: str) -> ComponentSpec:
    return next(c for c in server.components if c.domain.startswith(prefix))


def _user(server: EjabberdServer) -> tuple[str, str]:
    name, password = f"u{secrets.token_hex(4)}", secrets.token_hex(8)
    return server.register(name, password), password


@pytest.mark.asyncio
async def test_message_between_two_users(ejabberd: EjabberdServer) -> None:
    (alice_jid, alice_pw), (bob_jid, bob_pw) = _user(ejabberd), _user(ejabberd)
    alice, bob = TestClient(alice_jid, alice_pw), TestClient(bob_jid, bob_pw)
    await alice.start("127.0.0.1", ejabberd.c2s_port)
    await bob.start("127.0.0.1", ejabberd.c2s_port)
    try:
        alice.send_message(mto=JID(bob_jid), mbody="hello bob", mtype="chat")
        msg = await bob.next_message(predicate=lambda m: bool(m["body"]))
        assert msg["body"] == "hello bob"
        assert msg["from"].bare == alice_jid
    finally:
        await alice.stop()
        await bob.stop()


@pytest.mark.asyncio
async def test_component_connects_and_receives(ejabberd: EjabberdServer) -> None:
    irc = _component(ejabberd, "irc.")
    component = TestComponent(irc.domain, irc.secret)
    await component.start("127.0.0.1", ejabberd.component_port)
    jid, password = _user(ejabberd)
    client = TestClient(jid, password)
    await client.start("127.0.0.1", ejabberd.c2s_port)
    try:
        info = await client.plugin["xep_0030"].get_info(jid=JID(irc.domain), timeout=5)
        assert "http://jabber.org/protocol/disco#info" in info["disco_info"]["features"]
        client.send_message(mto=JID(f"alice%libera@{irc.domain}"), mbody="hi", mtype="chat")
        msg = await component.next_message(predicate=lambda m: m["body"] == "hi")
        assert msg["from"].bare == jid
    finally:
        await client.stop()
        await component.stop()


@pytest.mark.asyncio
async def test_each_component_gets_only_its_own_domain(ejabberd: EjabberdServer) -> None:
    # ejabberd's legacy global_routes would hand irc.localhost's traffic to the sms connection.
    sms, irc = _component(ejabberd, "sms."), _component(ejabberd, "irc.")
    sms_component, irc_component = TestComponent(sms.domain, sms.secret), TestComponent(irc.domain, irc.secret)
    await sms_component.start("127.0.0.1", ejabberd.component_port)
    await irc_component.start("127.0.0.1", ejabberd.component_port)
    jid, password = _user(ejabberd)
    client = TestClient(jid, password)
    await client.start("127.0.0.1", ejabberd.c2s_port)
    try:
        for n in range(4):  # several, as balancing over two owners would alternate
            client.send_message(mto=JID(f"bob%libera@{irc.domain}"), mbody=f"irc {n}", mtype="chat")
            msg = await irc_component.next_message(predicate=lambda m: bool(m["body"]))
            assert msg["body"] == f"irc {n}"
        with pytest.raises(TimeoutError):
            await sms_component.next_message(timeout=0.5, predicate=lambda m: bool(m["body"]))
    finally:
        await client.stop()
        await sms_component.stop()
        await irc_component.stop()


@pytest.mark.asyncio
async def test_component_with_wrong_secret_is_refused(ejabberd: EjabberdServer) -> None:
    component = TestComponent(_component(ejabberd, "irc.").domain, "not-the-secret")
    with pytest.raises(ConnectionError):
        await component.start("127.0.0.1", ejabberd.component_port, timeout=5)


@pytest.mark.asyncio
async def test_privileged_component_gets_xep0356_grant(ejabberd: EjabberdServer) -> None:
    sms = _component(ejabberd, "sms.")
    component = TestComponent(sms.domain, sms.secret)
    await component.start("127.0.0.1", ejabberd.component_port)
    try:
        msg = await component.next_message(
            predicate=lambda m: any(m.xml.find(f"{{{ns}}}privilege") is not None for ns in PRIVILEGE_NS)
        )
        perms = {p.get("access"): p.get("type") for ns in PRIVILEGE_NS for p in msg.xml.iter(f"{{{ns}}}perm")}
        assert perms["roster"] == "both" and perms["message"] == "outgoing"
    finally:
        await component.stop()


@pytest.mark.asyncio
async def test_restart_keeps_ports_and_accounts(ejabberd: EjabberdServer) -> None:
    jid, password = _user(ejabberd)
    ports = (ejabberd.c2s_port, ejabberd.component_port, ejabberd.dist_port)
    await asyncio.to_thread(ejabberd.restart)
    assert ejabberd.running and (ejabberd.c2s_port, ejabberd.component_port, ejabberd.dist_port) == ports
    client = TestClient(jid, password)
    await client.start("127.0.0.1", ejabberd.c2s_port)
    await client.stop()
    assert _user(ejabberd)  # the control channel works after a restart too


def _epmd_pids() -> set[str]:
    out = subprocess.run(["pgrep", "-x", "epmd"], capture_output=True, text=True).stdout
    return set(out.split())


def _alive(pid: int) -> bool:
    """Running, that is: a zombie (reparented to a PID 1 that does not reap) has ended all the same."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_stop_ends_everything_we_started(tmp_path: Path) -> None:
    if not ejabberd_available():
        pytest.skip("ejabberd is not installed (apt install ejabberd)")
    epmd_before = _epmd_pids()
    server = EjabberdServer(tmp_path, components=[ComponentSpec("sms.localhost", "s")])
    server.start()
    pid = server.pid
    assert pid is not None
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    for gone in [str(pid), *children]:
        assert not _alive(int(gone)), f"process {gone} outlived stop()"
    assert not port_accepts(server.c2s_port) and not port_accepts(server.dist_port)
    assert _epmd_pids() <= epmd_before, "an epmd was left behind"
