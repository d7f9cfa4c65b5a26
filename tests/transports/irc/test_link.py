"""The IRC link's reads: what arrives is acknowledged at once, with one system call per read."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gateway.transports.irc.link import _AckingReader


class _Recorder:
    """Stands in for the link's socket: the options set on it, in order."""

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux's")
async def test_a_read_of_many_lines_is_acknowledged_once_and_every_line_is_read() -> None:
    reader = _AckingReader()
    recorder = _Recorder()
    reader.sock = recorder  # type: ignore[assignment]

    reader.feed_data(b":a PRIVMSG #c :one\r\n:a PRIVMSG #c :two\r\n:a PRIVMSG #c :three\r\n")
    reader.feed_data(b":a PRIVMSG #c :four\r\n")

    assert recorder.options == [(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)] * 2
    lines = [await asyncio.wait_for(reader.readuntil(b"\n"), 1) for _ in range(4)]
    assert [line.rsplit(b":", 1)[1] for line in lines] == [b"one\r\n", b"two\r\n", b"three\r\n", b"four\r\n"]
