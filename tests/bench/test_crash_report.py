"""The kill -9 rows and the baseline column of the benchmark's report."""

from __future__ import annotations

from bench.report import Run, markdown, table


def run_with_baseline() -> Run:
    figures = {
        "irc_xmpp.1.rate": {"gateway": 900.0, "baseline": 1000.0},
        "crash.irc_xmpp.repeated": {"gateway": 256.0, "baseline": 1277.0},
        "crash.irc_xmpp.missing": {"gateway": 0.0, "baseline": 0.0},
    }
    return Run(figures=figures, profiles={}, notes=[], command="make bench", mode="quick", seconds=60.0,
               database="SQLite", sizes={})


def test_the_baseline_column_sits_beside_the_gateway_with_its_ratio() -> None:
    text = table(run_with_baseline())
    header = text.splitlines()[0]
    assert header.index("gateway") < header.index("baseline") < header.index("server ceiling")
    assert "gw/base" in header
    row = next(line for line in text.splitlines() if line.startswith("IRC->XMPP, 1 user"))
    assert "900" in row and "1,000" in row and "0.90x" in row


def test_kill_9_rows_count_messages_as_whole_numbers() -> None:
    text = markdown(run_with_baseline())
    assert "| IRC->XMPP, kill -9 mid-flood: received twice | msgs | 256 | 1,277 |" in text
    assert "| accepted, never received | msgs | 0 | 0 |" in text


def test_without_a_baseline_there_is_no_baseline_column() -> None:
    run = run_with_baseline()
    for values in run.figures.values():
        values.pop("baseline")
    assert "baseline" not in table(run).splitlines()[0]
