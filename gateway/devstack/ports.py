"""Loopback port helpers shared by the server launchers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


_handed_out: set[int] = set()
_reserved: range | None = None
_cursor = 0


def reserve_ports(ports: range | None) -> range | None:
    """Hand out ports from `ports` only, in turn, instead of the kernel's picks (None: the kernel's again); returns
    the range reserved before.

    Processes that start servers side by side (parallel test workers) each take a range of their own below the
    kernel's ephemeral range: two processes' kernel picks may be the same port, and another process's outgoing
    connections take ports from the ephemeral range too.
    """
    global _reserved, _cursor
    before, _reserved, _cursor = _reserved, ports, 0
    _handed_out.clear()
    return before


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed out before.

    The kernel picks it (bind to port 0) unless a range is reserved; there is a small race until the server binds
    it, which is acceptable for tests and the demo. The kernel may pick a port again once it is closed, so two ports
    asked for one after the other (a server's client and component ports) could be the same one: a port is handed
    out once per process (once per round of a reserved range).
    """
    if _reserved is not None:
        return _next_reserved(_reserved)
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _next_reserved(ports: range) -> int:
    global _cursor
    for _ in range(len(ports)):
        port = ports[_cursor]
        _cursor = (_cursor + 1) % len(ports)
        if _cursor == 0:
            _handed_out.clear()  # a new round: the ports of the last one have long been bound or let go
        if port not in _handed_out and can_listen(port):
            _handed_out.add(port)
            return port
    raise OSError(f"no free port left in {ports.start}-{ports.stop - 1}")


def can_listen(port: int, host: str = LOOPBACK) -> bool:
    """True if a server could listen on host:port now.

    SO_REUSEADDR, as the servers themselves bind: without it a connection of a server stopped a moment ago, still in
    TIME_WAIT, makes the port look taken for a minute, though the server can listen on it again at once. Linux still
    refuses the bind while a socket listens there.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen(1)
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    """True if a TCP connection to host:port succeeds right now.

    Only the kernel's accept is proven: a server may bind early and serve later (ejabberd does).
    """
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            # A probe of a free port in the ephemeral range can connect to itself (TCP self-connect).
            return bool(sock.getsockname() != sock.getpeername())
    except OSError:
        return False


def xmpp_stream_answers(port: int, to: str, ns: str = "jabber:client", timeout: float = 0.5) -> bool:
    """True if an XMPP server on 127.0.0.1:port answers a stream header (it is really serving).

    `ns` is "jabber:client" for c2s, "jabber:component:accept" for a XEP-0114 listener.
    """
    header = (
        f"<?xml version='1.0'?><stream:stream to='{to}' xmlns='{ns}'"
        " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    )
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            if sock.getsockname() == sock.getpeername():
                return False
            sock.sendall(header.encode())
            deadline = time.monotonic() + timeout
            return recv_until(sock, lambda data: b"stream:stream" in data or b"<stream" in data, deadline)
    except OSError:
        return False


def recv_until(sock: socket.socket, done: Callable[[bytes], bool], deadline: float) -> bool:
    """Read from sock until done(everything read so far); False if the peer closes or the deadline passes."""
    data = b""
    while not done(data):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def wait_for_port(port: int, timeout: float, host: str = LOOPBACK) -> None:
    """Block until host:port accepts TCP connections; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if port_accepts(port, host):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing accepted TCP connections on {host}:{port} within {timeout:g} s")
        time.sleep(0.02)
