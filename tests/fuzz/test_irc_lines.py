"""Boundary 3: lines from a hostile IRC server to a user's IRC connection.

alice sits in the group chat #check%test@irc.localhost and has had a private conversation with bob; the hostile
server (tests.support.hostile_irc) then sends her connection what a real server never would
(tests.fuzz.generators.irc_case): messages and notices from odd nicks, numerics, QUIT/AWAY/PART/KICK reasons,
NAMES, TOPIC, MODE, NICK, JOINs of odd channels, IRCv3 tags, NUL, bare CR, invalid UTF-8, overlong lines; and
channels for alice to join whose NAMES reply holds odd nicks (she must get in: "join_refused" otherwise).

After each batch: alice still gets a normal room line and a normal private line within 2 s, the IRC component's
stream was not cut, the gateway logged no traceback. Every RESTART_EVERY batches and at the end, the gateway is
stopped and started again on the same database (the journal resumes): it must start, connect its component, and
deliver the next room and private lines. When a restart fails, the inputs since the last good restart are bisected
(each half replayed on a fresh database, then a restart) down to the one that breaks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from tests.fuzz.generators import irc_case
from tests.fuzz.harness import Case, Engine, Failure, Report, fuzz_count, isolate_budget, selected_cases, shorten
from tests.fuzz.raw_xmpp import CLIENT, MUC_USER
from tests.fuzz.stack import IRC, NETWORK, FuzzStack, traceback_failures

BOUNDARY = "irc"
TRANSPORTS = ("irc",)
BATCH = 50
RESTART_EVERY = 10  # batches
JOIN_TIMEOUT = 2.0  # seconds for alice's own presence in a channel she joins (the liveness promise)


class IrcBoundary:
    def __init__(self, stack: FuzzStack) -> None:
        self.stack = stack
        self.log_mark = stack.logs.mark()
        self.pending: dict[int, list[Failure]] = {}  # case index -> what its own join showed

    async def send(self, case: Case) -> None:
        assert self.stack.irc is not None
        if "join" in case.meta:
            await self.join(case)
        client = self.stack.alice_irc()
        if client is None:  # the gateway is reconnecting alice: wait for her, as a server would
            try:
                client = await self.stack.irc.wait_client("alice", timeout=5)
            except TimeoutError:
                raise ConnectionError("alice has no IRC connection to send to") from None
        for line in case.data:
            await self.stack.irc.send(line, client)

    async def replay(self, case: Case) -> None:
        """The case's lines, then a PING as the check after a batch sends one (an earlier failure followed from a
        server's PING answered in a state a line left); not a join (it waits for an answer)."""
        if "join" not in case.meta:
            await self.send(case)
            await self.sync()

    async def join(self, case: Case) -> None:
        """alice joins a channel whose NAMES (and topic) the case chose; she must get in, then she leaves."""
        assert self.stack.irc is not None
        channel, names, topic = case.meta["join"]
        self.stack.irc.names[channel] = names
        if topic is not None:
            self.stack.irc.topics[channel] = topic
        room = f"{channel}%{NETWORK}@{IRC}"
        alice = self.stack.alice

        def own(elem: ET.Element) -> bool:
            if elem.tag != CLIENT + "presence" or not (elem.get("from") or "").startswith(room + "/"):
                return False
            return elem.get("type") == "error" or any(s.get("code") == "110" for s in elem.iter(MUC_USER + "status"))

        joined = alice.expect(own)
        alice.send_raw(f"<presence to='{room}/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        problem = None
        try:
            presence = await asyncio.wait_for(joined, JOIN_TIMEOUT)
            if presence.get("type") == "error":
                error = presence.find(CLIENT + "error")
                conditions = [child.tag.rpartition("}")[2] for child in error] if error is not None else []
                problem = f"an error presence ({', '.join(conditions) or 'no condition'})"
        except TimeoutError:
            problem = f"no presence within {JOIN_TIMEOUT:g} s"
        finally:
            alice.forget(joined)
            alice.send_raw(f"<presence type='unavailable' to='{room}/alice'/>")
        if problem is not None:
            self.pending.setdefault(case.index, []).append(Failure(
                "join_refused", f"alice could not join {room}: {problem}", case,
                signature=f"a join answered with {problem.split(' (')[0]}"
                          + (f" ({problem.split(' (')[1]}" if " (" in problem else ""), direct=True,
                trigger=True))

    async def check(self, cases: Sequence[Case], liveness: bool) -> list[Failure]:
        await self.sync()
        failures = [failure for case in cases for failure in self.pending.pop(case.index, [])]
        failures += await self.stack.standard_checks(self.log_mark)  # probes are cheap here: always
        self.log_mark = self.stack.logs.mark()
        return failures

    async def sync(self) -> None:
        """A PING to alice's connection, and its PONG: every line sent before it has been read and handled."""
        irc = self.stack.irc
        client = self.stack.alice_irc()
        if irc is None or client is None:
            return
        token = f"sync{time.monotonic_ns()}"
        since = len(client.lines)
        await irc.send(f"PING :{token}", client)
        with contextlib.suppress(TimeoutError):  # the liveness probes that follow say what is wrong
            # Any PONG after our PING: a server that set a short LINELEN gets our token cut short.
            await irc.wait_line(lambda line: line.command == "PONG", 1.0, client, since)

    def stop_failures(self) -> list[Failure]:
        return self.stack.take_stop_failures()

    async def reset(self) -> None:
        await self.stack.reset()
        self.log_mark = self.stack.logs.mark()
        self.pending.clear()

    async def restart(self) -> list[Failure]:
        """Stop the gateway and start it again on the same database; what went wrong, if anything."""
        await self.stack.stop_gateway()
        stopped = self.stack.take_stop_failures()
        mark = self.stack.logs.mark()
        try:
            await asyncio.wait_for(self.stack.start_gateway(fresh=False, watch_logs=True), 30)
        except Exception as exc:
            failures = [*stopped, Failure("crash", f"the gateway did not start again on the same database: "
                                          f"{type(exc).__name__}: {shorten(str(exc), 300)}",
                                          signature=f"restart fails: {type(exc).__name__}: {str(exc)[:80]}")]
            failures += traceback_failures(self.stack.logs.since(mark))
            self.log_mark = self.stack.logs.mark()
            return failures
        failures = await self.stack.standard_checks(mark)
        self.log_mark = self.stack.logs.mark()
        for failure in failures:
            failure.detail = f"after a restart on the same database: {failure.detail}"
            failure.signature = f"after restart: {failure.signature}"
        return stopped + failures


class Restarts:
    """Restart checks every RESTART_EVERY batches and at the end; a failed one is bisected to its input."""

    def __init__(self, boundary: IrcBoundary, engine: Engine, report: Report, batches: int) -> None:
        self.boundary, self.engine, self.report, self.batches = boundary, engine, report, batches
        self.window: list[Case] = []  # inputs since the last good restart

    async def after_batch(self, number: int, batch: list[Case]) -> None:
        self.window += batch
        if (number + 1) % RESTART_EVERY and number + 1 != self.batches:
            return
        failures = await self.boundary.restart()
        if not failures:
            self.window = []
            return
        started = time.monotonic()
        try:
            culprits = await self.bisect(self.window)
        finally:
            self.engine.spent += time.monotonic() - started
        for failure in failures:
            if culprits is not None and len(culprits) == 1:
                failure.case = culprits[0]
            else:
                failure.batch = tuple(case.index for case in culprits or self.window)
                failure.detail += " (not narrowed to one input)" if culprits else " (did not fail again when replayed)"
            self.report.add(failure)
        self.window = []
        await self.engine.reset()

    async def fails(self, cases: list[Case]) -> bool:
        await self.engine.reset()
        for case in cases:
            with contextlib.suppress(ConnectionError):
                await self.boundary.replay(case)
        await self.boundary.sync()
        return bool(await self.boundary.restart())

    async def bisect(self, window: list[Case]) -> list[Case] | None:
        """The smallest part of `window` found whose replay on a fresh database makes the restart fail; None if
        the whole window does not fail again."""
        if self.engine.spent >= self.engine.isolate_budget or not await self.fails(window):
            return None
        while len(window) > 1 and self.engine.spent < self.engine.isolate_budget:
            half = len(window) // 2
            if await self.fails(window[:half]):
                window = window[:half]
            elif await self.fails(window[half:]):
                window = window[half:]
            else:
                break  # it takes inputs from both halves
        return window


async def test_hostile_irc_server_lines(fuzz_stack: FuzzStack, fuzz_report: Report) -> None:
    cases = [irc_case(index) for index in selected_cases(fuzz_count())]
    boundary = IrcBoundary(fuzz_stack)
    engine = Engine(boundary, fuzz_report, batch_size=BATCH, isolate_budget=isolate_budget(len(cases)))
    restarts = Restarts(boundary, engine, fuzz_report, batches=-(-len(cases) // BATCH))
    engine.after_batch = restarts.after_batch
    try:
        await engine.run(cases)
    finally:
        fuzz_report.notes.append(fuzz_stack.traffic())
    assert not fuzz_report.failures, fuzz_report.failure_text()
