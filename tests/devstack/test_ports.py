"""Loopback ports for the servers the tests and the demo start."""

from __future__ import annotations

import socket

import pytest

from gateway.demo import pick_port as demo_port
from gateway.devstack.ports import LOOPBACK, can_listen, free_port, reserve_ports


def test_free_port_never_hands_out_a_port_twice() -> None:
    # The kernel does pick a closed port again (about 6% repeats in 2,000 picks here): a server given the same
    # port for its client and component listeners answered clients as a component.
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


def _listener_between_free_ports() -> socket.socket:
    """A listening socket whose port's two neighbours are free."""
    while True:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen()
        port = listener.getsockname()[1]
        if can_listen(port - 1) and can_listen(port + 1):
            return listener
        listener.close()


def test_a_reserved_range_is_handed_out_in_turn_around_a_port_in_use() -> None:
    with _listener_between_free_ports() as listener:
        taken = listener.getsockname()[1]
        before = reserve_ports(range(taken - 1, taken + 2))
        try:
            picks = [free_port() for _ in range(4)]
        finally:
            reserve_ports(before)
    assert picks == [taken - 1, taken + 1, taken - 1, taken + 1]  # the same again in the next round only


def _time_wait_port() -> int:
    """A port whose only trace is a connection in TIME_WAIT on its side, as a demo stopped a moment ago leaves."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
    listener.bind((LOOPBACK, 0))
    listener.listen()
    port: int = listener.getsockname()[1]
    client = socket.create_connection((LOOPBACK, port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: its end goes to TIME_WAIT
    client.recv(1)  # the FIN
    client.close()
    listener.close()
    return port


def test_a_port_in_time_wait_is_still_chosen() -> None:
    port = _time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind((LOOPBACK, port))  # what the demo's probe did: TIME_WAIT made it move every port
    assert demo_port(port) == port
    with socket.socket() as server:  # and a server (which binds with SO_REUSEADDR) does listen on it
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, port))
        server.listen()


def test_a_port_in_use_is_avoided() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen()
        port = listener.getsockname()[1]
        chosen = demo_port(port)
        assert chosen != port
        with socket.socket() as other:  # and the one chosen instead can be listened on, as the servers bind
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            other.bind((LOOPBACK, chosen))
            other.listen()
