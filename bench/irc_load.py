"""A minimal IRC client on asyncio streams for the load: register, join, PRIVMSG out, PRIVMSG texts in.

Lines are split from large reads by hand (no per-line readuntil, no full parse) so one client can take tens of
thousands of lines a second; PINGs are answered so a long run is not dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bench.streams import close_stream
from gateway.devstack.ports import LOOPBACK

TextHandler = Callable[[str, str, str], None]  # (source prefix, target, text)


class RawIrcLoad:
    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.on_privmsg: TextHandler | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Callable[[list[str]], bool], asyncio.Future[list[str]]]] = []

    async def connect(self, port: int, timeout: float = 10) -> None:
        self._reader, self._writer = await asyncio.open_connection(LOOPBACK, port)
        self._task = asyncio.create_task(self._read_loop(), name=f"irc-{self.nick}")
        welcome = self._expect(lambda words: len(words) > 1 and words[1] == "001")
        self.send(f"NICK {self.nick}\r\nUSER {self.nick} 0 * :{self.nick}\r\n")
        await asyncio.wait_for(welcome, timeout)

    async def join(self, channel: str, timeout: float = 10) -> None:
        done = self._expect(lambda words: len(words) > 3 and words[1] == "366" and words[3].lower() == channel.lower())
        self.send(f"JOIN {channel}\r\n")
        await asyncio.wait_for(done, timeout)

    def joined(self, channel: str, nick: str) -> asyncio.Future[list[str]]:
        """A future for `nick` joining `channel` (the far side's connection is really in); ask before it joins."""
        prefix = f":{nick.lower()}!"
        return self._expect(lambda words: len(words) > 2 and words[1] == "JOIN" and words[0].lower().startswith(prefix)
                            and words[2].lstrip(":").lower() == channel.lower())

    def part(self, channel: str) -> None:
        self.send(f"PART {channel}\r\n")

    def privmsg(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}\r\n")

    def send(self, data: str) -> None:
        assert self._writer is not None
        self._writer.write(data.encode())

    async def drain(self) -> None:
        assert self._writer is not None
        await self._writer.drain()

    def _expect(self, predicate: Callable[[list[str]], bool]) -> asyncio.Future[list[str]]:
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    async def _read_loop(self) -> None:
        assert self._reader is not None
        pending = b""
        while chunk := await self._reader.read(262144):
            lines = (pending + chunk).split(b"\r\n")
            pending = lines.pop()
            for raw in lines:
                self._line(raw.decode("utf-8", "replace"))

    def _line(self, line: str) -> None:
        if line.startswith("PING"):
            self.send("PONG" + line[4:] + "\r\n")
            return
        # ":src PRIVMSG #chan :text": the fast path of the load, without a full parse.
        if self.on_privmsg is not None and " PRIVMSG " in line and line.startswith(":"):
            head, _, text = line.partition(" :")
            words = head.split(" ")
            if len(words) >= 3 and words[1] == "PRIVMSG":
                self.on_privmsg(words[0], words[2], text)
                return
        if self._waiters:
            words = line.split(" ")
            for entry in list(self._waiters):
                if entry[0](words):
                    self._waiters.remove(entry)
                    if not entry[1].done():
                        entry[1].set_result(words)

    async def close(self) -> None:
        await close_stream(self._writer, b"QUIT :bench done\r\n", self._task)
