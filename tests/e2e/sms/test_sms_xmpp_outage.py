"""While the XMPP side is down, inbound texts are acknowledged, wait in the database, and are delivered in
order, once, when the component is back."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from gateway.devstack.prosody import ProsodyServer
from gateway.transports.sms.sandbox import SmsSandbox
from gateway.xmpp.component import State
from tests.e2e.sms.conftest import ALICE_NUMBER, PEER
from tests.e2e.sms.support import Inbox, jid, journal
from tests.support.stack import wait_until
from tests.support.xmpp_client import TestClient


async def test_an_inbound_burst_while_the_component_is_disconnected_is_delivered_in_order_once(
        gateway: Gateway, sandbox: SmsSandbox, prosody: ProsodyServer) -> None:
    alice_jid = prosody.register("alice", "alice-password")
    component = gateway.components["sms"]
    prosody.stop()
    await wait_until(lambda: component.state is not State.CONNECTED)

    bodies = [f"while you were away {n:02d}" for n in range(50)]
    for body in bodies:
        result = await sandbox.send_inbound(PEER, ALICE_NUMBER, body)
        assert (result.status, result.attempts) == (200, 1)  # stored and acknowledged at once
    rows = await journal(gateway, Direction.IN)
    assert [(r.body, r.status) for r in rows] == [(body, Status.PENDING) for body in bodies]

    prosody.start()
    assert await component.wait_connected(10)
    alice = TestClient(alice_jid, "alice-password")
    await alice.start(port=prosody.c2s_port)
    try:
        inbox = Inbox(alice)
        await inbox.wait_for(lambda m: m["body"].startswith("while you were away"), count=50, timeout=15)
        # One more text after the backlog: any second copy of the backlog would come before it.
        await sandbox.send_inbound(PEER, ALICE_NUMBER, "welcome back")
        await inbox.wait_for(lambda m: m["body"] == "welcome back")
        assert inbox.bodies_from(jid(PEER)) == [*bodies, "welcome back"]
        await wait_until(lambda: _all_delivered(gateway))
    finally:
        inbox.close()
        await alice.stop()


async def _all_delivered(gateway: Gateway) -> bool:
    return {r.status for r in await journal(gateway, Direction.IN)} == {Status.DELIVERED}
