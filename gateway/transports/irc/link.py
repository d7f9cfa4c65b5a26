"""The link to an IRC server: one socket at a time, its writes and reads, liveness, and the reconnect loop.

`open` connects (TLS with certificate verification unless the network says otherwise) and names the reason when
that fails; `start` runs the paced send queue (flood.py) and the read loop, which hands each parsed line to the
connection. Liveness: once the server has been silent for `ping_interval`, a PING; no line within `ping_timeout`
after it and the link is dropped. After an established link drops, `reconnect` retries with capped exponential
backoff until a registration succeeds or the connection is closed.

Each socket is one generation (`gen`): whatever an old socket's read loop or timer reports after a newer one is
open is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, SupportsIndex

from gateway.core.backoff import Backoff
from gateway.transports.irc.errors import ConnectError
from gateway.transports.irc.flood import Clock, FloodQueue
from gateway.transports.irc.lines import build_line, encode_line
from gateway.transports.irc.wire import Line, parse_received

if TYPE_CHECKING:
    from gateway.transports.irc.connection import IrcConnection

log = logging.getLogger(__name__)

_READ_LIMIT = 1 << 16
_LINE_BREAKERS = re.compile("[\0\r\n]")
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class IrcLink:
    """The socket side of one `IrcConnection`; see the module docstring."""

    __slots__ = (
        "_conn", "_last_rx", "_liveness_task", "_liveness_timer", "_lost_reason", "_ping_counter", "_read_task",
        "_reconnect_task", "_ssl_context", "_writer", "closing", "gen", "queue", "up",
    )

    def __init__(self, conn: IrcConnection, ssl_context: ssl.SSLContext | None, clock: Clock | None) -> None:
        self._conn = conn
        settings = conn.settings
        self.queue = FloodQueue(
            self._write, burst=settings.flood_burst, rate=settings.flood_rate, size=settings.queue_size, clock=clock
        )
        self._ssl_context = ssl_context
        self._writer: asyncio.StreamWriter | None = None
        self.gen = 0
        self.up = False
        self.closing = False
        self._lost_reason: str | None = None
        self._last_rx = 0.0
        self._ping_counter = 0
        self._read_task: asyncio.Task[None] | None = None
        self._liveness_timer: asyncio.TimerHandle | None = None  # a timer while idle; a task only while pinging
        self._liveness_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None

    # -- opening ----------------------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext | None:
        network = self._conn.network
        if not network.tls:
            return None
        if self._ssl_context is not None:
            return self._ssl_context
        context = ssl.create_default_context(cafile=network.ca_file)
        if not network.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def open(self) -> asyncio.StreamReader:
        """A new socket (a new generation); ConnectError naming the reason if it cannot be opened."""
        network, timeout = self._conn.network, self._conn.connect_timeout
        host, port = network.host, network.effective_port
        context = self._tls_context()
        self.gen += 1
        loop = asyncio.get_running_loop()
        reader = _AckingReader(limit=_READ_LIMIT, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: protocol, network.address or host, port, ssl=context,
                                       server_hostname=host if context else None),
                timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise ConnectError(
                f"The TLS certificate of {host}:{port} was refused: {exc.verify_message or exc.reason}."
                " The gateway does not connect to a server it cannot verify."
            ) from exc
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with {host}:{port} failed: {exc.reason or exc}.") from exc
        except TimeoutError as exc:
            raise ConnectError(f"{host}:{port} did not answer within {timeout:g} s.") from exc
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__  # some carry no text at all
            raise ConnectError(f"Cannot connect to {host}:{port}: {reason}.") from exc
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        reader.sock = transport.get_extra_info("socket")
        self._writer = writer
        # drain() then returns once every byte is with the kernel: a line counts as sent (and is not sent again after
        # a crash) only when a kill -9 can no longer lose it in our own buffer.
        writer.transport.set_write_buffer_limits(high=0)
        self.up = True
        self._lost_reason = None
        self._last_rx = time.monotonic()
        return reader

    def start(self, reader: asyncio.StreamReader) -> None:
        """Writing and reading begin (the connection has reset its state for the new link)."""
        self.queue.reset()
        self.queue.start()
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop(self.gen, reader), name="irc-read")

    # -- writing and reading ----------------------------------------------------------------------------------

    async def _write(self, lines: list[str]) -> None:
        writer = self._writer
        if writer is None or writer.is_closing() or not self.up:
            raise ConnectionError("not connected")
        limit = self._conn.max_line_bytes
        writer.write(b"".join([encode_line(line, limit) for line in lines]))
        await writer.drain()

    def abort(self, reason: str) -> None:
        """Drop the socket now; the read loop then reports the loss with this reason."""
        if self._lost_reason is None:
            self._lost_reason = reason
        if self._writer is not None:
            self._writer.transport.abort()

    def closed_by_server(self, text: str) -> None:
        """ERROR from the server: the reason the link is about to be lost."""
        self._lost_reason = f"the server closed the link: {text}"

    async def _read_loop(self, gen: int, reader: asyncio.StreamReader) -> None:
        conn = self._conn
        reason = "the server closed the connection"
        try:
            while True:
                try:
                    data = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError as exc:  # an absurdly long line: skip it
                    await reader.readexactly(exc.consumed)
                    continue
                self._last_rx = time.monotonic()
                line = parse_received(data, conn.network.encoding_fallback)
                if line is not None:
                    try:
                        await conn._dispatch(line)
                    except Exception:
                        log.exception("%s on %s: handling %r failed", conn.owner, conn.network.name, line)
                del data, line  # not kept while the connection waits for the next line (mostly idle)
        except asyncio.IncompleteReadError:
            pass
        except (OSError, ssl.SSLError) as exc:
            reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            reason = "closed"
        await conn._link_down(gen, self._lost_reason or reason)

    def drop(self, gen: int) -> bool:
        """Mark generation `gen` down: socket aborted, liveness stopped. False when it is not the live one."""
        if gen != self.gen or not self.up:
            return False
        self.up = False
        if self._writer is not None:
            self._writer.transport.abort()
        if self._liveness_timer is not None:
            self._liveness_timer.cancel()
            self._liveness_timer = None
        if self._liveness_task is not None and self._liveness_task is not asyncio.current_task():
            self._liveness_task.cancel()
        self._liveness_task = None
        return True

    async def close(self, quit_line: str) -> None:
        """Send `quit_line` ahead of any queued line, wait briefly for the server to close, drop the link; no
        reconnect follows."""
        self.closing = True
        if self._reconnect_task is not None and self._reconnect_task is not asyncio.current_task():
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        gen = self.gen
        if self.up:
            with contextlib.suppress(ConnectionError, OSError):
                await self.queue.send_now(quit_line)
            if self._read_task is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._read_task), 3.0)
        self.abort("quit")
        await self._conn._link_down(gen, "quit")

    # -- liveness ---------------------------------------------------------------------------------------------

    async def pong(self, line: Line) -> None:
        # The token as far as a PONG line can carry it: a server may send one our answer could not hold (longer
        # than a line, a NUL, a bare CR); an answer that fits keeps the connection, a lost one would cut it.
        room = self._conn.max_line_bytes - len(b"PONG :\r\n")
        token = _LINE_BREAKERS.sub("", line.param(-1)).encode()[:room].decode(errors="ignore")
        await self.queue.send_now(build_line("PONG", trailing=token))

    def watch(self) -> None:
        """Registered: from now on an idle server is PINGed."""
        self._check_liveness(self.gen)

    def _check_liveness(self, gen: int) -> None:
        """A PING once the link has been silent for ping_interval; until then a timer, not a waiting task."""
        self._liveness_timer = None
        if gen != self.gen or not self.up:
            return
        interval = self._conn.settings.ping_interval
        idle = time.monotonic() - self._last_rx
        loop = asyncio.get_running_loop()
        if idle < interval:
            self._liveness_timer = loop.call_later(interval - idle, self._check_liveness, gen)
        else:
            self._liveness_task = loop.create_task(self._ping(gen), name="irc-liveness")

    async def _ping(self, gen: int) -> None:
        timeout = self._conn.settings.ping_timeout
        self._ping_counter += 1
        written = await self.queue.put(build_line("PING", trailing=f"gw{self._ping_counter}"))
        await written
        sent = time.monotonic()
        await asyncio.sleep(timeout)
        if self._last_rx < sent:
            self.abort(f"no reply from the server within {timeout:g} s of a PING")
            return
        self._liveness_task = None
        self._check_liveness(gen)

    # -- reconnecting -----------------------------------------------------------------------------------------

    def reconnect(self) -> None:
        """An established link dropped: retry until registered again (or closed)."""
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(), name="irc-reconnect")

    async def _reconnect(self) -> None:
        conn = self._conn
        backoff = Backoff(conn.reconnect_min_delay, conn.settings.reconnect_max_delay)
        while not self.closing:
            await asyncio.sleep(backoff.next())
            if self.closing:
                return
            try:
                await conn._open()
            except ConnectError as exc:
                log.info("%s: reconnecting to %s failed: %s", conn.owner, conn.network.name, exc.text)
                continue
            backoff.reset()
            if await conn._restore():
                return


class _AckingReader(asyncio.StreamReader):
    """Acknowledges what arrives at once rather than on the delayed-ACK timer. IRC servers commonly leave Nagle's
    algorithm on (ngircd does): the server then holds every line after the first of a burst until our ACK of it,
    which the kernel delays by up to 40 ms when we have nothing to send back. Linux leaves quick-ACK mode by
    itself, so it is set again at every read (setting it also sends the ACK still pending). Measured with make
    bench: a burst of channel lines to one user (IRC->XMPP, 1 user) went from stalling on these ACKs to flowing.
    Once per read, not per line: a read of a burst holds many lines, and each would make a system call."""

    sock: socket.socket | None = None  # the link's, once connected

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        super().feed_data(data)
        if self.sock is not None and _QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
