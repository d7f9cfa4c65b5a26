"""Loopback ports for the servers the tests and the demo start."""

from __future__ import annotations

from gateway.devstack.ports import free_port


def test_free_port_never_hands_out_a_port_twice() -> None:
    # The kernel does pick a closed port again (about 6% repeats in 2,000 picks here): a server given the same
    # port for its client and component listeners answered clients as a component.
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
