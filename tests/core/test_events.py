"""Stanza ids: short, URL-safe, never repeated (also across refills of their random buffer), and made later
sorting later (the journal indexes them: random keys made every insert into that index dearer as it grew)."""

from __future__ import annotations

import re
import time

from gateway.core.events import new_id


def test_ids_are_16_url_safe_characters_and_never_repeat() -> None:
    ids = [new_id() for _ in range(5000)]  # about 10 refills of the buffer
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_an_id_made_in_a_later_millisecond_sorts_after() -> None:
    earlier = []
    for _ in range(50):
        earlier.append(new_id())
        time.sleep(0.0015)
    assert earlier == sorted(earlier)
    assert len({i[8:] for i in earlier}) == len(earlier), "the random part differs"
