"""The benchmark's report: the table and BENCHMARKS.md come from the figures given, with ratios beside them."""

from __future__ import annotations

from bench.report import Run, markdown, table


def sample_run() -> Run:
    figures = {
        "xmpp_irc.1.rate": {"gateway": 2000.0, "raw_bridge": 10000.0, "echo": 4000.0, "biboumi_history": 500.0,
                            "biboumi_no_history": 4000.0},
        "xmpp_irc.1.cpu.Prosody": {"gateway": 61.0, "raw_bridge": 99.0},
        "xmpp_irc.1.cpu.target": {"gateway": 97.0, "raw_bridge": 40.0},
        "xmpp_irc.1.io.target writes": {"gateway": 6.25, "raw_bridge": 2.0},
        "xmpp_irc.1.io.server bytes to clients": {"gateway": 1234.0, "raw_bridge": 300.0},
        "xmpp_irc.1.p50": {"gateway": 3.0, "echo": 1.5},
        "mem.irc_groups": {"gateway": 20.0, "biboumi_no_history": 10.0},
    }
    return Run(figures=figures, profiles={}, notes=[], command="make bench", mode="quick", seconds=60.0,
               database="SQLite", sizes={"group_users": 100})


def test_table_shows_each_figure_and_the_ratios() -> None:
    text = table(sample_run())
    row = next(line for line in text.splitlines() if line.startswith("XMPP->IRC, 1 user"))
    assert "2,000" in row and "0.20x" in row and "0.50x" in row and "4.00x" in row
    assert "RSS per IRC user" in text
    per_process = [line.split()[3:] for line in text.splitlines() if line.startswith("  XMPP->IRC, 1 user")]
    assert per_process == [["Prosody", "61", "99"], ["target", "97", "40"], ["target", "writes", "6.2", "2.0"],
                           ["server", "bytes", "to", "clients", "1,234.0", "300.0"]]


def test_markdown_has_the_table_the_machine_and_the_command() -> None:
    text = markdown(sample_run())
    assert ("| XMPP->IRC, 1 user | msgs/s | 2,000 | 10,000 | 4,000 | 500 | 4,000 | 0.20x | 0.50x | 4.00x | 0.50x |"
            in text)
    assert "| XMPP->IRC, 1 user | Prosody | 61 | 99 |" in text
    assert "| XMPP->IRC, 1 user | target writes | 6.2 | 2.0 |" in text
    assert "| XMPP->IRC, 1 user | server bytes to clients | 1,234.0 | 300.0 |" in text
    assert "## Machine" in text and "Python" in text
    assert "`make bench`" in text


def test_markdown_checks_each_target_that_was_measured() -> None:
    text = markdown(sample_run())
    assert ("- XMPP->IRC, 1 user: 4.00x biboumi hist. on (target at least 10x): not met: it needs 5,000 msgs/s, "
            "the server ceiling is 10,000 (0.50x of it); biboumi without history, on the same routing, reached 4,000"
            ) in text
    assert "- XMPP->IRC, 1 user: 0.50x biboumi hist. off (target at least 0.5x): met" in text
    assert "- RSS per IRC user, groups of 10, 2 chans: 20.0 KiB (target at most 32 KiB): met" in text
    assert "IRC->XMPP, 1 user:" not in text  # not measured in this run
