"""What a component writes in one turn of the event loop goes out in one write to the socket (a room line to 20
users is 20 stanzas, and a system call each was most of their cost), in the order it was written."""

from __future__ import annotations

from typing import Any

from gateway.app import Gateway
from tests.support.xmpp_client import TestClient


async def test_stanzas_of_one_turn_are_one_write_in_order(gateway: Gateway, alice: TestClient) -> None:
    component = next(iter(gateway.components.values()))
    writes: list[bytes] = []
    transport: Any = component.transport
    write = transport.write
    transport.write = lambda data: (writes.append(data), write(data))
    try:
        for n in range(20):
            component.send_raw(f"<message to='{alice.boundjid.full}' from='{component.boundjid.bare}' "
                               f"type='chat'><body>line {n}</body></message>")
        got = [(await alice.next_message())["body"] for _ in range(20)]
    finally:
        transport.write = write
    assert got == [f"line {n}" for n in range(20)]
    assert len([w for w in writes if b"<body>line " in w]) == 1
