"""The ejabberd launcher: one route per component, XEP-0356, restart, stop (the rest: test_xmpp_servers)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from slixmpp import JID

from gateway.devstack.ejabberd import EjabberdServer, ejabberd_available
from gateway.devstack.ports import port_accepts
from gateway.devstack.prosody import ComponentSpec
from tests.devstack.conftest import component_spec, new_user
from tests.support.xmpp_client import TestClient, TestComponent

# ejabberd 23.01 speaks XEP-0356 v1; newer servers (and Prosody's module) v2.
PRIVILEGE_NS = ("urn:xmpp:privilege:1", "urn:xmpp:privilege:2")


@pytest.mark.asyncio
async def test_each_component_gets_only_its_own_domain(ejabberd: EjabberdServer) -> None:
    # ejabberd's legacy global_routes would hand irc.localhost's traffic to the sms connection.
    sms, irc = component_spec(ejabberd, "sms."), component_spec(ejabberd, "irc.")
    sms_component, irc_component = TestComponent(sms.domain, sms.secret), TestComponent(irc.domain, irc.secret)
    await sms_component.start("127.0.0.1", ejabberd.component_port)
    await irc_component.start("127.0.0.1", ejabberd.component_port)
    jid, password = new_user(ejabberd)
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
async def test_privileged_component_gets_xep0356_grant(ejabberd: EjabberdServer) -> None:
    sms = component_spec(ejabberd, "sms.")
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
    jid, password = new_user(ejabberd)
    ports = (ejabberd.c2s_port, ejabberd.component_port, ejabberd.dist_port)
    await asyncio.to_thread(ejabberd.restart)
    assert ejabberd.running and (ejabberd.c2s_port, ejabberd.component_port, ejabberd.dist_port) == ports
    client = TestClient(jid, password)
    await client.start("127.0.0.1", ejabberd.c2s_port)
    await client.stop()
    assert new_user(ejabberd)  # the control channel works after a restart too


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
    # An epmd another program on the machine starts for a moment is not ours (two came and went during one run of
    # the suite); one that ours left behind stays.
    deadline = time.monotonic() + 5
    while not _epmd_pids() <= epmd_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _epmd_pids() <= epmd_before, "an epmd was left behind"
