"""AckedOutbox: a stanza counts as delivered only once a ping written after it was answered."""

from __future__ import annotations

import asyncio

from gateway.core.events import Undeliverable
from gateway.xmpp.outbox import AckedOutbox


class FakeStream:
    """Records writes and pings in order; each ping waits until the test answers it."""

    def __init__(self) -> None:
        self.wire: list[str] = []
        self.pings: asyncio.Queue[asyncio.Future[bool]] = asyncio.Queue()

    def write(self, stanza: str) -> None:
        self.wire.append(stanza)

    async def ping(self) -> bool:
        self.wire.append("PING")
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pings.put_nowait(answer)
        return await answer

    async def answer(self, ok: bool = True) -> None:
        pending = await asyncio.wait_for(self.pings.get(), 1)
        while pending.cancelled():  # a ping whose stream broke
            pending = await asyncio.wait_for(self.pings.get(), 1)
        pending.set_result(ok)
        for _ in range(5):  # let the outbox take the answer in
            await asyncio.sleep(0)


async def test_confirmed_only_after_a_later_ping_is_answered() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    first = outbox.send("m1")
    await asyncio.sleep(0)
    assert stream.wire == ["m1", "PING"]
    assert not first.done()
    second = outbox.send("m2")  # written after the ping: that ping does not cover it
    await stream.answer()
    assert first.done() and not second.done()
    await stream.answer()  # the next ping, one interval later
    assert stream.wire == ["m1", "PING", "m2", "PING"]
    assert second.done()
    assert len(outbox) == 0
    assert await outbox.wait_empty(0.1)


async def test_under_load_pings_are_at_most_one_per_interval() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.PING_INTERVAL = 0.05
    outbox.connected()
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = []
    while loop.time() - started < 0.3:  # a stanza every millisecond, each ping answered at once
        sent.append(outbox.send(f"m{len(sent)}"))
        if not stream.pings.empty():
            await stream.answer()
        await asyncio.sleep(0.001)
    while not all(f.done() for f in sent):
        await stream.answer()
    pings = stream.wire.count("PING")
    assert 2 <= pings <= 0.3 / 0.05 + 2, pings  # not one per round trip (hundreds here)


async def test_an_unanswered_ping_leaves_the_stanza_pending_until_the_next_stream() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    future = outbox.send("m1")
    await stream.answer(ok=False)  # a ping timeout: the component cuts the stream
    outbox.disconnected()
    assert not future.done()
    outbox.connected()
    await asyncio.sleep(0)
    assert stream.wire == ["m1", "PING", "m1", "PING"]
    await stream.answer()
    assert future.done()


async def test_a_stanza_cut_off_with_the_stream_is_written_again_after_reconnect() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    stanza = '<message id="same-id"><body>hello</body></message>'
    future = outbox.send(stanza)
    await asyncio.sleep(0)
    outbox.disconnected()  # the stream broke before the ping came back
    await asyncio.sleep(0)
    assert not future.done()
    assert not await outbox.wait_empty(0.01)

    stream.wire.clear()
    outbox.connected()
    await asyncio.sleep(0)
    assert stream.wire == [stanza, "PING"]  # the very same text, hence the same id
    await stream.answer()
    assert future.done()


async def test_nothing_is_written_while_disconnected() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    future = outbox.send("m1")
    await asyncio.sleep(0)
    assert stream.wire == []
    assert len(outbox) == 1
    outbox.connected()
    await asyncio.sleep(0)
    assert stream.wire == ["m1", "PING"]
    await stream.answer()
    assert future.done()


async def test_one_ping_confirms_a_burst() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    futures = [outbox.send(f"m{i}") for i in range(AckedOutbox.WINDOW // AckedOutbox.SLICES)]
    await stream.answer()
    assert all(f.done() for f in futures)
    assert stream.wire.count("PING") == 1


async def test_stanzas_of_one_turn_are_written_together_objects_as_their_text() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping,
                         render=lambda stanza: stanza if isinstance(stanza, str) else f"<{stanza['tag']}/>")
    outbox.connected()
    futures = [outbox.send("<a/>"), outbox.send("<b/>"), outbox.send({"tag": "object"}), outbox.send("<c/>")]
    assert stream.wire == []  # held for this turn of the loop
    outbox.flush()  # what the component does before writing anything else itself
    assert stream.wire == ["<a/><b/><object/><c/>"]
    outbox.send("<d/>")
    outbox.send("<e/>")
    await asyncio.sleep(0)
    assert stream.wire == ["<a/><b/><object/><c/>", "<d/><e/>", "PING"]  # the ping after what it confirms
    await stream.answer()
    assert all(f.done() for f in futures)


async def test_a_stanza_larger_than_the_server_takes_is_failed_unwritten() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping, max_size=1000)
    outbox.connected()
    fits, too_large = outbox.send("é" * 500), outbox.send("é" * 501)  # 1000 and 1002 bytes in UTF-8
    assert isinstance(too_large.exception(), Undeliverable)
    assert "1002 bytes" in str(too_large.exception())
    await stream.answer()
    assert fits.done() and fits.exception() is None
    assert stream.wire == ["é" * 500, "PING"]


async def test_a_stanza_the_server_closes_the_stream_over_twice_is_failed_and_never_written_again() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    poison = outbox.send("<poison/>")
    await asyncio.sleep(0)
    outbox.disconnected("not-well-formed")
    outbox.connected()
    await asyncio.sleep(0)
    assert stream.wire == ["<poison/>", "PING", "<poison/>", "PING"]  # written a second time, alone
    outbox.disconnected("not-well-formed")
    assert isinstance(poison.exception(), Undeliverable)
    assert "not-well-formed" in str(poison.exception())
    later = outbox.send("<later/>")
    outbox.connected()
    await stream.answer()
    assert later.done() and later.exception() is None
    assert stream.wire.count("<poison/>") == 2
    assert len(outbox) == 0


async def test_among_many_suspects_only_the_one_refused_again_fails() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    futures = {name: outbox.send(f"<{name}/>") for name in ("a", "poison", "b")}
    await asyncio.sleep(0)
    assert stream.wire == ["<a/><poison/><b/>", "PING"]
    outbox.disconnected("not-well-formed")  # any of the three may be the cause
    waiting = outbox.send("<c/>")  # sent while disconnected: not a suspect
    stream.wire.clear()
    outbox.connected()
    await stream.answer()  # the suspects go one at a time, each with its own ping
    assert stream.wire == ["<a/>", "PING", "<poison/>", "PING"]
    assert futures["a"].done() and futures["a"].exception() is None
    outbox.disconnected("not-well-formed")  # the server refuses the stream again, with only <poison/> on it
    assert isinstance(futures["poison"].exception(), Undeliverable)
    stream.wire.clear()
    outbox.connected()
    await stream.answer()
    assert stream.wire == ["<b/>", "PING", "<c/>", "PING"]  # then back to writing everything at once
    await stream.answer()
    assert all(f.done() and f.exception() is None for f in (futures["b"], waiting))


async def test_a_lost_connection_suspects_nothing() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    future = outbox.send("<m/>")
    for _ in range(3):  # the server went away three times: no reason to blame the stanza
        await asyncio.sleep(0)
        outbox.disconnected()
        outbox.connected()
    await stream.answer()
    assert future.done() and future.exception() is None


async def test_text_held_when_the_stream_breaks_is_written_once_after_reconnect() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.connected()
    future = outbox.send("<a/>")
    outbox.disconnected()
    await asyncio.sleep(0)
    assert stream.wire == []
    outbox.connected()
    await asyncio.sleep(0)
    assert stream.wire == ["<a/>", "PING"]
    await stream.answer()
    assert future.done()


async def test_at_most_a_window_is_on_the_stream_unconfirmed_the_rest_waits_its_turn() -> None:
    # What a crash can repeat is what the server processed and nobody confirmed: never more than a window.
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.WINDOW, outbox.SLICES = 4, 2
    outbox.connected()
    futures = [outbox.send(f"<m{i}/>") for i in range(10)]
    for _ in range(5):
        await asyncio.sleep(0)
    # A slice (half the window here), its ping, the other slice and its ping (at once: no interval to wait for),
    # then nothing more until the server answers.
    assert stream.wire == ["<m0/><m1/>", "PING", "<m2/><m3/>", "PING"]
    assert outbox.unconfirmed == 4 and len(outbox) == 10
    written = [w for w in stream.wire if w != "PING"]
    while not all(f.done() for f in futures):
        await stream.answer()
        assert outbox.unconfirmed <= 4
    on_wire = "".join(w for w in stream.wire if w != "PING")
    assert on_wire == "".join(f"<m{i}/>" for i in range(10))  # each once, in order
    assert written == ["<m0/><m1/>", "<m2/><m3/>"]
    assert await outbox.wait_empty(0.1)


async def test_a_slice_of_the_window_written_is_pinged_without_waiting_for_the_interval_or_the_last_answer() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.WINDOW, outbox.SLICES, outbox.PING_INTERVAL = 8, 2, 10.0
    outbox.connected()
    first = [outbox.send(f"<a{i}/>") for i in range(2)]
    await asyncio.sleep(0)
    assert stream.wire == ["<a0/><a1/>", "PING"]  # the first ping goes at once
    second = [outbox.send(f"<b{i}/>") for i in range(4)]  # a slice: pinged now, the first still unanswered
    for _ in range(3):
        await asyncio.sleep(0)
    assert stream.wire == ["<a0/><a1/>", "PING", "<b0/><b1/><b2/><b3/>", "PING"]
    await stream.answer()
    assert all(f.done() for f in first) and not any(f.done() for f in second)
    await stream.answer()
    assert all(f.done() for f in second)


async def test_a_reconnect_writes_again_only_what_was_on_the_stream_then_the_rest_in_order() -> None:
    stream = FakeStream()
    outbox = AckedOutbox(stream.write, stream.ping)
    outbox.WINDOW = 4
    outbox.connected()
    futures = [outbox.send(f"<m{i}/>") for i in range(6)]
    await asyncio.sleep(0)
    outbox.disconnected()  # the server never answered
    stream.wire.clear()
    outbox.connected()
    while not all(f.done() for f in futures):
        await stream.answer()
    assert "".join(w for w in stream.wire if w != "PING") == "".join(f"<m{i}/>" for i in range(6))
