"""The component's pings to the server (what confirms the outbox's stanzas), against a real Prosody."""

from __future__ import annotations

import asyncio
import gc
from xml.etree import ElementTree as ET

from slixmpp import Iq

from gateway.app import Gateway
from gateway.devstack.prosody import ProsodyServer


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
        real = ET.fromstring(f"<iq xmlns='{ns}' type='result' id='ping-1' from='{component.server_domain}' "
                             f"to='{component.boundjid.full}'/>")
        component.incoming_filter(real)
        assert answered.done()
    finally:
        del component._pings["ping-1"]
