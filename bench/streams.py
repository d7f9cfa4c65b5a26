"""What the raw XMPP and IRC peers share: splitting an XML stream into stanzas, and closing a stream with its reader
task."""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import cast

ElementHandler = Callable[[ET.Element], None]


class StanzaSplitter:
    """An XML stream's top-level elements, each handed out as it completes (expat through XMLPullParser) and then
    dropped from the tree, so a long stream keeps nothing. `on_open` gets the stream's own element at its start."""

    def __init__(self, on_stanza: ElementHandler, on_open: ElementHandler | None = None) -> None:
        self._on_stanza, self._on_open = on_stanza, on_open
        self.restart()

    def restart(self) -> None:
        """A new stream on the same connection (after SASL): a fresh parser for its header."""
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._root = ET.Element("stream")

    def feed(self, data: bytes) -> None:
        self._parser.feed(data)
        for pair in self._parser.read_events():
            event, elem = cast(tuple[str, ET.Element], pair)
            if event == "start":
                self._depth += 1
                if self._depth == 1:
                    self._root = elem
                    if self._on_open is not None:
                        self._on_open(elem)
                continue
            self._depth -= 1
            if self._depth == 1:
                self._root.remove(elem)
                self._on_stanza(elem)


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
