"""The progress bar: redrawn in place on a terminal, a few plain lines in a log."""

from __future__ import annotations

import io

from gateway.admin.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    out = Terminal()
    bar = ProgressBar(out, width=10, interval=0)
    for done in (0, 5, 10):
        bar("checking", done, 10)

    assert out.getvalue() == ("\rchecking [----------]   0% 0/10"
                              "\rchecking [#####-----]  50% 5/10"
                              "\rchecking [##########] 100% 10/10\n")


def test_a_terminal_is_redrawn_at_most_every_interval_but_always_at_the_end() -> None:
    out = Terminal()
    bar = ProgressBar(out, width=4, interval=3600)
    for done in range(1, 101):
        bar("storing", done, 100)
    assert out.getvalue().count("\r") == 2  # the first call and the last
    assert out.getvalue().endswith("\rstoring [####] 100% 100/100\n")


def test_a_log_gets_a_line_per_tenth_of_a_long_phase_and_one_at_the_end() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    for done in range(0, 5001, 100):
        bar("checking", done, 5000)
    for done in (1, 2, 3):
        bar("storing", done, 3)

    lines = out.getvalue().splitlines()
    assert lines[:2] == ["checking: 500/5000 (10%)", "checking: 1000/5000 (20%)"]
    assert lines[8:] == ["checking: 4500/5000 (90%)", "checking: 5000/5000", "storing: 3/3"]
    assert "\r" not in out.getvalue()
