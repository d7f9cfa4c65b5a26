"""Fixtures of the fuzz suite: the seed and count (printed), a report per boundary, and the stack of real parts.

FUZZ_SEED fixes the seed (default: a random one, printed in the header and in every summary and failure),
FUZZ_COUNT the number of inputs per boundary (default 2,000; `make fuzz` runs 10,000), FUZZ_CASES replays only
the listed cases ("17,203" or "40-45") of that seed. FUZZ_ISOLATE_BUDGET caps the seconds a boundary spends
replaying failed batches case by case to name the culprit (default: 20 + 0.01 per input).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pluggy
import pytest

from gateway.devstack.prosody import prosody_available
from tests.fuzz.harness import Report
from tests.fuzz.stack import FuzzStack
from tests.fuzz.summary import PROPERTY as summary_property

ROOT = Path(__file__).resolve().parents[2]
CAPTURE_LINES = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """A fuzz run logs thousands of warnings; a failure shows the last lines of each capture, not all of them
    (the assertion and the fuzz summary name every failing input)."""
    outcome = yield
    report = outcome.get_result()
    trimmed = []
    for title, content in report.sections:
        lines = content.splitlines()
        if len(lines) > CAPTURE_LINES:
            content = "\n".join([f"... {len(lines) - CAPTURE_LINES} earlier lines left out ...",
                                 *lines[-CAPTURE_LINES:]])
        trimmed.append((title, content))
    report.sections = trimmed


@pytest.fixture
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[Report]:
    """The boundary's report (module attribute BOUNDARY), printed at the end and in the terminal summary."""
    path = Path(str(request.module.__file__)).resolve()
    report = Report(request.module.BOUNDARY, str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path))
    yield report
    report.finished = report.finished or time.monotonic()
    summary = "\n".join([report.summary(), *(f"  note: {note}" for note in report.notes[:10])])
    print()
    print(summary)
    failures = report.failure_text(limit=10, header=False) if report.failures else ""
    request.node.user_properties.append((summary_property, (summary, failures)))  # the teardown report carries it


@pytest.fixture
async def fuzz_stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FuzzStack]:
    """Prosody, the sandbox and the hostile IRC server as the module's TRANSPORTS need, and the gateway on them."""
    if not prosody_available():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("prosody is not installed (make test installs it)")
        pytest.skip("prosody is not installed")
    stack = FuzzStack(tmp_path, request.module.TRANSPORTS)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
