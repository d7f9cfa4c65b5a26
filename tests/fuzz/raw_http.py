"""A raw HTTP/1.1 client for the fuzz suite: writes exactly the request it is given (any method, path, header and
body bytes; aiohttp's client would refuse or normalise some of them) and reads the status of the answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from gateway.devstack.ports import LOOPBACK


@dataclass
class HttpAnswer:
    status: int | None  # None: no answer (connection closed or reset first, or nothing within the timeout)
    seconds: float
    head: bytes = b""  # the status line and headers
    error: str = ""

    def short(self) -> str:
        first = self.head.split(b"\r\n", 1)[0].decode("latin-1")
        return first or self.error or "no answer"


def build_request(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


async def request(port: int, data: bytes, timeout: float = 15.0) -> HttpAnswer:
    """Send one request on a fresh connection; the answer's status once its head has arrived, then the rest
    is read (and dropped) until the server closes the connection."""
    started = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    try:
        reader, opened = await asyncio.wait_for(asyncio.open_connection(LOOPBACK, port), timeout)
        writer = opened
        opened.write(data)
        with contextlib.suppress(ConnectionError):  # a server may answer (413) and close before reading it all
            await opened.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        seconds = time.monotonic() - started
        parts = head.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        with contextlib.suppress(ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            await asyncio.wait_for(reader.read(), timeout)
        return HttpAnswer(status, seconds, head)
    except asyncio.IncompleteReadError as exc:
        return HttpAnswer(None, time.monotonic() - started, exc.partial, "the connection closed without an answer")
    except TimeoutError:
        return HttpAnswer(None, time.monotonic() - started, b"", f"no answer within {timeout:g} s")
    except (ConnectionError, OSError, asyncio.LimitOverrunError) as exc:
        return HttpAnswer(None, time.monotonic() - started, b"", f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
