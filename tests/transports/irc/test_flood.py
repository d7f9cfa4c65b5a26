from __future__ import annotations

import asyncio
import itertools

import pytest

from gateway.transports.irc.flood import FakeClock, FloodQueue, QueueClosed, QueueFull, command_of


class Wire:
    """Records each line with the (virtual) time it was written, and how many writes there were."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str]] = []
        self.writes = 0

    def __call__(self, lines: list[str]) -> None:
        self.writes += 1
        self.sent += [(self.clock.now(), line) for line in lines]

    @property
    def lines(self) -> list[str]:
        return [line for _, line in self.sent]


def make(burst: int = 3, rate: float = 2.0, size: int = 10) -> tuple[FloodQueue, Wire, FakeClock]:
    clock = FakeClock()
    wire = Wire(clock)
    return FloodQueue(wire, burst=burst, rate=rate, size=size, clock=clock), wire, clock


async def test_burst_then_rate_in_order() -> None:
    queue, wire, _ = make(burst=3, rate=2.0, size=300)
    queue.start()
    lines = [f"PRIVMSG #c :{i}" for i in range(200)]
    done = await queue.put_all(lines)
    await done
    assert wire.lines == lines  # all of them, in order
    times = [t for t, _ in wire.sent]
    assert times[:3] == [0.0, 0.0, 0.0]  # the burst goes at once
    gaps = [b - a for a, b in itertools.pairwise(times[3:])]
    assert all(gap == pytest.approx(0.5) for gap in gaps)  # then 2 lines per second
    assert times[-1] == pytest.approx((200 - 3) / 2.0)
    assert wire.writes == 1 + 197  # the burst in one write, then a line per token
    await queue.stop()


async def test_lines_queued_together_leave_in_one_write_when_the_bucket_allows() -> None:
    queue, wire, _ = make(burst=100, rate=1.0, size=100)
    queue.start()
    for i in range(60):  # many messages queued in one turn of the loop, as after a group commit
        await queue.put(f"PRIVMSG #c :{i}")
    await queue.join()
    assert wire.lines == [f"PRIVMSG #c :{i}" for i in range(60)] and wire.writes == 1
    await queue.stop()


async def test_bucket_refills_while_idle() -> None:
    queue, wire, clock = make(burst=2, rate=1.0)
    queue.start()
    await (await queue.put_all(["A 1", "A 2", "A 3"]))
    assert [t for t, _ in wire.sent] == [0.0, 0.0, pytest.approx(1.0)]
    clock.time += 10  # idle long enough to refill the whole burst, not more
    await (await queue.put_all(["B 1", "B 2", "B 3"]))
    assert [t - 11 for t, _ in wire.sent[3:]] == [0.0, 0.0, pytest.approx(1.0)]
    await queue.stop()


async def test_pong_and_quit_bypass_the_queue() -> None:
    queue, wire, _ = make(burst=1, rate=1.0, size=10)
    # The worker is not started: queued lines wait; PONG and QUIT go out at once, ahead of them.
    await queue.put_all(["PRIVMSG #c :1", "PRIVMSG #c :2"])
    await queue.put("PONG :irc.example.org")
    await queue.send_now("QUIT :bye")
    assert wire.lines == ["PONG :irc.example.org", "QUIT :bye"]
    full = await queue.put_all(["PRIVMSG #c :x"] * 8)
    # Bypassing lines never count against a full queue either.
    await queue.put("PONG :again")
    assert wire.lines[-1] == "PONG :again"
    queue.start()
    await full
    assert wire.lines[3:5] == ["PRIVMSG #c :1", "PRIVMSG #c :2"] and len(wire.lines) == 13
    await queue.stop()


async def test_full_queue_refuses_whole_message() -> None:
    queue, wire, _ = make(size=5)
    await queue.put_all(["PRIVMSG #c :a"] * 4)
    with pytest.raises(QueueFull) as info:
        await queue.put_all(["PRIVMSG #c :b", "PRIVMSG #c :c"])  # does not fit: none of it is queued
    assert info.value.condition == "resource-constraint"
    assert len(queue) == 4 and queue.free == 1
    await queue.put("PRIVMSG #c :d")  # one line still fits
    with pytest.raises(QueueFull):
        await queue.put("PRIVMSG #c :e")
    queue.start()
    await queue.join()
    assert wire.lines == ["PRIVMSG #c :a"] * 4 + ["PRIVMSG #c :d"]
    await queue.stop()


async def test_stop_fails_pending_lines() -> None:
    queue, _, _ = make()
    done = await queue.put_all(["PRIVMSG #c :a", "PRIVMSG #c :b"])
    await queue.stop("connection lost")
    with pytest.raises(QueueClosed, match="connection lost"):
        await done
    assert len(queue) == 0


async def test_send_failure_fails_the_rest() -> None:
    clock = FakeClock()

    def broken(lines: list[str]) -> None:
        raise ConnectionResetError("gone")

    queue = FloodQueue(broken, burst=1, rate=1, size=5, clock=clock)  # the second line waits for a token
    queue.start()
    first = await queue.put("PRIVMSG #c :a")
    second = await queue.put("PRIVMSG #c :b")
    with pytest.raises(ConnectionResetError):
        await first
    with pytest.raises(QueueClosed):
        await second
    await queue.stop()


async def test_async_sender_and_real_clock() -> None:
    sent: list[str] = []

    async def send(lines: list[str]) -> None:
        await asyncio.sleep(0)
        sent.extend(lines)

    queue = FloodQueue(send, burst=2, rate=50.0, size=10)
    queue.start()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await (await queue.put_all([f"PRIVMSG #c :{i}" for i in range(4)]))
    assert sent == [f"PRIVMSG #c :{i}" for i in range(4)]
    assert loop.time() - start >= 2 / 50.0 * 0.9  # two lines had to wait for tokens
    await queue.stop()


def test_command_of() -> None:
    assert command_of("PONG :x") == "PONG"
    assert command_of("@label=1 :me QUIT :bye") == "QUIT"
    assert command_of("privmsg #c :hi") == "PRIVMSG"
    assert command_of("") == ""


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        FloodQueue(lambda lines: None, burst=0, rate=1, size=1)


async def test_an_idle_queue_keeps_no_task_and_no_buffer() -> None:
    queue, wire, _ = make(burst=2, rate=100.0)
    assert queue._task is None and queue._queue is None  # nothing before the first line
    queue.start()
    assert queue._task is None
    await (await queue.put_all(["PRIVMSG #c :1", "PRIVMSG #c :2", "PRIVMSG #c :3"]))
    await queue.join()
    assert wire.lines == ["PRIVMSG #c :1", "PRIVMSG #c :2", "PRIVMSG #c :3"]
    assert queue._task is None and queue._queue is None  # emptied: the task ended, the deque is gone
    await (await queue.put("PRIVMSG #c :4"))  # and the next line starts it again
    assert wire.lines[-1] == "PRIVMSG #c :4"
    await queue.stop()
