"""The collector during start-up (gateway/startup.py)."""

from __future__ import annotations

import gc

from gateway.startup import collections_paused


def test_collections_stay_paused_until_the_outermost_pause_ends() -> None:
    assert gc.isenabled()
    with collections_paused():
        with collections_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_inside_a_disabled_collector_leaves_it_disabled() -> None:
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
