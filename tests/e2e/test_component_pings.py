"""The component's pings to the server (what confirms the outbox's stanzas), against a real Prosody."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from slixmpp import Iq

from gateway.app import Gateway
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ProsodyServer
from gateway.xmpp import component as component_module
from tests.support.stack import raw_config, start_gateway


async def test_pings_are_answered_and_leave_nothing_for_the_garbage_collector(gateway: Gateway) -> None:
    """Each ping through slixmpp's Iq.send left a stanza, a handler and a closure in a reference cycle, which only a
    full collection freed: under load, thousands of objects every few seconds."""
    component = gateway.components["loopback"]
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable is kept in gc.garbage, to be counted
    try:
        assert all(await asyncio.gather(*(component._ping_server() for _ in range(50))))
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (Iq, asyncio.Future))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
    assert component._pings == {}


async def test_only_the_server_s_answer_confirms_a_ping(prosody: ProsodyServer, gateway: Gateway) -> None:
    """A user may address an IQ result to the component with any id: it must not pass for the server's answer."""
    component = gateway.components["loopback"]
    answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    component._pings["ping-1"] = answered
    try:
        ns = component.default_ns
        forged = ET.fromstring(f"<iq xmlns='{ns}' type='result' id='ping-1' from='mallory@{prosody.domain}/x' "
                               f"to='{component.boundjid.full}'/>")
        component.incoming_filter(forged)
        assert not answered.done()
        real = ET.fromstring(f"<iq xmlns='{ns}' type='result' id='ping-1' from='{prosody.domain}' "
                             f"to='{component.boundjid.full}'/>")
        component.incoming_filter(real)
        assert answered.done()
    finally:
        del component._pings["ping-1"]


async def test_a_server_domain_written_in_capitals_still_gets_its_answers_matched(
        prosody: ProsodyServer, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server answers from its domain as it writes it (lower case), whatever case the config gives it."""
    monkeypatch.setattr(component_module, "PING_TIMEOUT", 2.0)
    raw = raw_config(component_port=prosody.component_port, http_port=free_port(), database_url=sqlite_url,
                     xmpp={"domain": prosody.domain.upper()})
    running = await start_gateway(raw, tmp_path)
    try:
        assert await running.components["loopback"]._ping_server()
    finally:
        await running.stop()
