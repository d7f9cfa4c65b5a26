"""Boundary 1: hostile but well-formed stanzas from a logged-in client to every component.

mallory writes raw stanzas (tests.fuzz.generators.xmpp_case) on her own stream to the loopback, SMS and IRC
components, their contacts and rooms. After each batch: every IQ get/set she sent got exactly one answer (result
or error); no component stream was cut (GET /metrics); alice's next message on every transport
arrives within 2 s (loopback echo, an SMS webhook from the sandbox, a room line and a private line from the
hostile IRC server); and the gateway logged no traceback. An IQ counts as unanswered when every component has answered a
ping mallory sent after the batch and then no further answer came for IQ_GRACE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slixmpp import JID
from slixmpp.jid import InvalidJID

from tests.fuzz.generators import xmpp_case
from tests.fuzz.harness import Case, Engine, Failure, Report, fuzz_count, isolate_budget, selected_cases, shorten
from tests.fuzz.raw_xmpp import new_id
from tests.fuzz.stack import FuzzStack

BOUNDARY = "xmpp"
TRANSPORTS = ("loopback", "sms", "irc")
BATCH = 50
SYNC_TIMEOUT = 5.0  # seconds for the components to answer the pings that follow a batch
IQ_GRACE = 0.5  # seconds without any new answer, once the components have read everything sent before the pings


def as_relayed(ident: str) -> str:
    """An id as it comes back through Prosody: it writes CR, LF and TAB in attribute values raw, and the reader's
    attribute-value normalisation makes each a space (CRLF one space). Not the gateway's doing: a message from
    one client to another shows the same."""
    return ident.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")


def iq_signature(case: Case, to: str) -> str:
    """What unanswered IQs of one cause share: the `to` slixmpp cannot read, else the IQ's type and payload."""
    try:
        JID(to)
    except InvalidJID as exc:
        return f"IQ to a JID Prosody routes but slixmpp refuses ({exc})"
    return "IQ " + " ".join(case.label.split(" to ")[0].split(" ")[1:3])


class XmppBoundary:
    def __init__(self, stack: FuzzStack) -> None:
        self.stack = stack
        self.sent: dict[str, tuple[Case, int]] = {}  # IQ id -> (case, mallory's session)
        self.session = 0
        self.void: set[str] = set()  # IQs lost with a stream Prosody closed on mallory (not the gateway's doing)
        self.notes: list[str] = []
        self.log_mark = stack.logs.mark()
        self.last_case: Case | None = None

    async def _mallory_open(self) -> None:
        mallory = self.stack.mallory
        if mallory.is_open:
            return
        self.void |= {iq for iq, (_, session) in self.sent.items()
                      if session == self.session and not mallory.iq_answers.get(iq)}
        last = self.last_case
        self.notes.append(f"Prosody closed mallory's stream ({mallory.stream_error}) after case "
                          f"{last.index if last else '?'}: {last.short(120) if last else ''}")
        self.stack.sender_reconnects += 1
        self.session += 1
        await mallory.ensure_open()

    async def send(self, case: Case) -> None:
        await self._mallory_open()
        mallory = self.stack.mallory
        for sent_id, _ in case.meta["iqs"]:
            iq = as_relayed(sent_id)
            mallory.iq_answers.pop(iq, None)
            self.sent[iq] = (case, self.session)
        self.last_case = case
        mallory.send_raw(case.data)
        await mallory.drain()

    async def replay(self, case: Case) -> None:
        await self.send(case)

    async def _sync(self) -> list[str]:
        """Ping every component from mallory's stream and wait for the answers: what she sent before has then been
        read and dispatched by each component (a stream is processed in order). The domains whose ping got no
        result (Prosody answers for a component that is gone) are returned."""
        mallory = self.stack.mallory
        pings: dict[str, str] = {}
        for domain in self.stack.domains:
            ident = new_id("sync")
            pings[ident] = domain
            mallory.send_raw(f"<iq type='get' id='{ident}' to='{domain}'><ping xmlns='urn:xmpp:ping'/></iq>")
        await mallory.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SYNC_TIMEOUT
        while loop.time() < deadline and mallory.is_open and not all(mallory.iq_answers.get(i) for i in pings):
            await asyncio.sleep(0.005)
        silent = []
        for ident, domain in pings.items():
            answers = mallory.iq_answers.pop(ident, [])
            if not answers or answers[0].get("type") != "result":
                silent.append(domain)
        return silent

    async def check(self, cases: Sequence[Case], liveness: bool) -> list[Failure]:
        mallory = self.stack.mallory
        wanted = [(as_relayed(iq), to, case) for case in cases for iq, to in case.meta["iqs"]]
        await self._mallory_open()
        silent = await self._sync()
        # Wait until every IQ is answered, or none was for IQ_GRACE (answers still coming in mean a busy gateway,
        # not a missing answer).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + IQ_GRACE
        answered = -1
        while loop.time() < deadline and mallory.is_open:
            pending = sum(1 for iq, _, _ in wanted if iq not in self.void and not mallory.iq_answers.get(iq))
            if not pending:
                break
            if pending != answered:
                answered, deadline = pending, loop.time() + IQ_GRACE
            await asyncio.sleep(0.01)
        await self._mallory_open()
        if silent:  # a component that did not answer its ping has lost its stream: let the gateway notice
            await self.stack.wait_cut(silent, timeout=3.0)
        failures = await self.stack.standard_checks(self.log_mark, liveness)
        self.log_mark = self.stack.logs.mark()
        shown = " ".join(failure.detail for failure in failures if failure.kind == "cut_stream")
        failures += [Failure("cut_stream", f"the {domain} component did not answer a ping", signature=f"the {domain} "
                             "stream was cut") for domain in silent if mallory.is_open and domain not in shown]
        for iq, to, case in wanted:
            if iq in self.void:
                continue
            answers = mallory.iq_answers.get(iq, [])
            if not answers:
                failures.append(Failure("unanswered_iq", f"no answer to IQ id {shorten(iq, 80)} (to {shorten(to, 80)}),"
                                        f" {IQ_GRACE:g} s after the component answered a later ping", case,
                                        signature=iq_signature(case, to), direct=True))
            elif len(answers) > 1:
                kinds = [answer.get("type") for answer in answers]
                failures.append(Failure("double_answer", f"IQ id {shorten(iq, 80)} answered {len(answers)} "
                                        f"times: {kinds}", case, signature=case.label.split(" to ")[0],
                                        direct=True))
        return failures

    def stop_failures(self) -> list[Failure]:
        return self.stack.take_stop_failures()

    async def reset(self) -> None:
        await self.stack.reset()
        self.log_mark = self.stack.logs.mark()
        if not self.stack.mallory.is_open:
            await self._mallory_open()


async def test_hostile_stanzas_to_every_component(fuzz_stack: FuzzStack, fuzz_report: Report) -> None:
    cases = [xmpp_case(index) for index in selected_cases(fuzz_count())]
    boundary = XmppBoundary(fuzz_stack)
    engine = Engine(boundary, fuzz_report, batch_size=BATCH, isolate_budget=isolate_budget(len(cases)))
    try:
        await engine.run(cases)
    finally:
        fuzz_report.notes += boundary.notes
        fuzz_report.notes.append(fuzz_stack.traffic())
    assert not fuzz_report.failures, fuzz_report.failure_text()
