"""A message to the loopback transport comes back through the whole core path."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.core.events import Direction, Status
from tests.support.stack import LOOPBACK
from tests.support.xmpp_client import TestClient


async def test_echo_is_journaled_both_ways_with_receipt(gateway: Gateway, alice: TestClient) -> None:
    message = alice.make_message(mto=f"echo@{LOOPBACK}", mbody="hello loopback", mtype="chat")
    message["id"] = "m-1"
    message["request_receipt"] = True
    message.send()

    # The echo and the receipt come in either order.
    got = [await alice.next_message(predicate=lambda m: m["receipt"] == "m-1" or m["body"] == "hello loopback")
           for _ in range(2)]
    [receipt] = [m for m in got if m["receipt"]]
    [echo] = [m for m in got if m["body"]]
    assert str(receipt["from"]) == f"echo@{LOOPBACK}"
    assert str(echo["from"]) == f"echo@{LOOPBACK}"

    assert gateway.store is not None
    rows = await gateway.store.journal.history(user="alice@localhost")
    assert [(r.direction, r.body) for r in rows] == [(Direction.OUT, "hello loopback"),
                                                     (Direction.IN, "hello loopback")]
    assert rows[0].xmpp_id == "m-1"
    assert rows[0].status is Status.DELIVERED
    assert rows[1].xmpp_id == echo["id"]
