"""The fuzz suite's lines in pytest's header and terminal summary, written by the top conftest: under pytest-xdist
the boundaries run in worker processes, and the summaries come back on the test reports."""

from __future__ import annotations

import pytest

PROPERTY = "fuzz summary"  # a user property of a boundary's teardown report: (summary, failures)


def header() -> list[str]:
    from tests.fuzz.harness import SEED, fuzz_count  # after pytest_configure, which sets the run's seed

    return [f"fuzz: seed={SEED} count={fuzz_count()} per boundary (FUZZ_SEED, FUZZ_COUNT; FUZZ_CASES replays cases)"]


def write(terminalreporter: pytest.TerminalReporter) -> None:
    texts = [value for report in terminalreporter.getreports("")
             for name, value in report.user_properties if name == PROPERTY]
    if not texts:
        return
    terminalreporter.section("fuzz")
    for summary, _ in texts:
        terminalreporter.write_line(summary)
    for _, failures in texts:
        if failures:
            terminalreporter.write_line("")
            terminalreporter.write_line(failures)
