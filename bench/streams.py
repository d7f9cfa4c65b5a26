"""What the raw load clients share: saying goodbye and closing a stream with its reader task."""

from __future__ import annotations

import asyncio
import contextlib


async def close_stream(writer: asyncio.StreamWriter | None, goodbye: bytes, reader: asyncio.Task[None] | None) -> None:
    if writer is not None and not writer.is_closing():
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(goodbye)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    if reader is not None:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
