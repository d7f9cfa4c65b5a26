"""Boundary 2: hostile HTTP requests to every route of the gateway's web server.

Requests (tests.fuzz.generators.http_case) go to /sms/inbound, /sms/status (with and without its query),
/healthz, /metrics and unknown paths, with any method, headers, content type and body, signed with the sandbox's
auth token (so that hostile bodies reach the parsing) or not. Each request must get an answer that is no 5xx
within STALL seconds; after each batch, a normal signed inbound text must still reach alice within 2 s, the SMS
component's stream must be intact and the gateway's log free of tracebacks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from multidict import MultiDict
from twilio.request_validator import RequestValidator

from tests.fuzz.generators import HttpRequest, http_case
from tests.fuzz.harness import Case, Engine, Failure, Report, fuzz_count, isolate_budget, selected_cases
from tests.fuzz.raw_http import build_request, request
from tests.fuzz.stack import ACCOUNT_SID, ALICE_NUMBER, AUTH_TOKEN, FuzzStack, traceback_failures

BOUNDARY = "http"
TRANSPORTS = ("sms",)
BATCH = 100
STALL = 2.0  # seconds: an answer slower than this held the event loop (or the request) too long


def sign(url: str, pairs: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature over `url` and every (name, value) pair, repeated names included, as Twilio computes it."""
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, MultiDict(pairs)))


class HttpBoundary:
    def __init__(self, stack: FuzzStack) -> None:
        self.stack = stack
        self.log_mark = stack.logs.mark()
        self.answers: dict[int, list[Failure]] = {}  # case index -> what its answer showed, when it was wrong
        self.statuses: Counter[str] = Counter()  # how the requests were answered (signed ones reach the parsing)

    async def send(self, case: Case) -> None:
        """One request; its answer and what the gateway logged while answering it are this case's own."""
        data: HttpRequest = case.data
        headers = dict(data.headers)
        if data.signed_params is not None:  # signed again for the URL of now (the port may have changed)
            headers["X-Twilio-Signature"] = sign(self.stack.http_url + data.path, data.signed_params)
        mark = self.stack.logs.mark()
        answer = await request(self.stack.http_port,
                               build_request(data.method, data.path, headers, data.body, self.stack.http_port))
        found = traceback_failures(self.stack.logs.since(mark), case)
        self.log_mark = self.stack.logs.mark()
        where, route = f"{data.method} {data.path[:60]}", data.path.split("?")[0][:30]
        signed = "signed" if data.signed_params is not None else "unsigned"
        self.statuses[f"{signed} {answer.status or 'none'}"] += 1
        if answer.status is None:
            found.append(Failure("crash", f"{where}: no answer ({answer.error})", case,
                                 signature=f"no answer to {data.method} {route}", direct=True))
        elif answer.status >= 500:
            found.append(Failure("crash", f"{where}: {answer.short()}", case,
                                 signature=f"HTTP {answer.status} from {route}", direct=True))
        elif answer.seconds > STALL:
            found.append(Failure("stall", f"{where}: answered ({answer.status}) after {answer.seconds:.1f} s", case,
                                 signature=f"slow answer from {route}", direct=True))
        if found:
            self.answers[case.index] = found

    async def replay(self, case: Case) -> None:
        await self.send(case)
        self.answers.pop(case.index, None)

    async def check(self, cases: Sequence[Case], liveness: bool) -> list[Failure]:
        failures = [f for case in cases for f in self.answers.pop(case.index, [])]
        failures += await self.stack.standard_checks(self.log_mark)  # probes are cheap here: always
        self.log_mark = self.stack.logs.mark()
        return failures

    def stop_failures(self) -> list[Failure]:
        return self.stack.take_stop_failures()

    async def reset(self) -> None:
        await self.stack.reset()
        self.log_mark = self.stack.logs.mark()
        self.answers.clear()


async def test_hostile_requests_to_every_route(fuzz_stack: FuzzStack, fuzz_report: Report) -> None:
    public_url = fuzz_stack.http_url
    cases = [http_case(index, account_sid=ACCOUNT_SID, to_number=ALICE_NUMBER, sign=sign, public_url=public_url)
             for index in selected_cases(fuzz_count())]
    boundary = HttpBoundary(fuzz_stack)
    engine = Engine(boundary, fuzz_report, batch_size=BATCH, isolate_budget=isolate_budget(len(cases)))
    try:
        await engine.run(cases)
    finally:
        fuzz_report.notes.append("answers: " + ", ".join(f"{key} x{count}"
                                                         for key, count in sorted(boundary.statuses.items())))
    assert not fuzz_report.failures, fuzz_report.failure_text()
