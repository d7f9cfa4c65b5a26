"""The benchmark's report: the table and BENCHMARKS.md come from the figures given, with ratios beside them."""

from __future__ import annotations

from bench.report import WEBHOOK_CEILING, Run, markdown, table


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
    assert ("| XMPP->IRC, 1 user | msgs/s | 2,000 | 10,000 | - | 4,000 | 500 | 4,000 | 0.20x | - | 0.50x | 4.00x "
            "| 0.50x |" in text)  # the second server ceiling was not measured
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


def test_markdown_checks_each_performance_goal_with_what_held_one_not_met() -> None:
    run = sample_run()
    run.figures["xmpp_irc.1.cpu.machine"] = {"gateway": 180.0}
    run.figures["xmpp_irc.1.p50"]["biboumi_no_history"] = 2.0
    run.figures["xmpp_irc.1.p99"] = {"gateway": 20.0, "biboumi_no_history": 10.0}
    run.figures["xmpp_irc.1.rate"]["raw_bridge_ids"] = 5000.0
    run.figures.update({"sms_xmpp.rate": {"gateway": 1200.0}, "sms_status.rate": {"gateway": 1500.0},
                        "sms_status.cpu.target": {"gateway": 99.0}, "startup": {"gateway": 0.8},
                        "mem.sms_idle": {"gateway": 30.0}})
    run.loadgen[WEBHOOK_CEILING] = 2500.0
    text = markdown(run)
    assert ("- XMPP->IRC, 1 user: 0.20x the server ceiling (goal at least 0.8x): not met: the same bridge sending "
            "the stanza ids the gateway must reached 0.50x of it, the gateway 0.40x of that; a bare slixmpp component "
            "reached 0.40x of it; CPU in % of one core: the gateway 97%, Prosody 61%, machine 180%") in text
    assert ("- XMPP->IRC, 1 user, p50 at half rate: 3.0 ms, biboumi without history 2.0 ms (goal at most 5 ms over "
            "it): met") in text
    assert ("- XMPP->IRC, 1 user, p99 at half rate: 20.0 ms, biboumi without history 10.0 ms (goal at most 20 ms "
            "over it): met") in text
    assert ("- SMS webhook->XMPP: 1,200 msgs/s (goal at least 1,000): met; the load generator's own ceiling "
            "2,500/s") in text
    assert ("- SMS status callbacks: 1,500 msgs/s (goal at least 2,000): not met: CPU in % of one core: the "
            "gateway 99%") in text
    assert "; the load generator's own ceiling 2,500/s" in text.split("SMS status callbacks:")[1].splitlines()[0]
    assert "- start-up until connected: 0.80 s (goal at most 1 s): met" in text
    assert "- RSS per idle SMS user: 30.0 KiB (goal at most 16 KiB): not met" in text
    assert "XMPP->SMS (sandbox API):" not in text  # not measured in this run
