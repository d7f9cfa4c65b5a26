"""Stanza ids: short, URL-safe and never repeated, also across refills of their random buffer."""

from __future__ import annotations

import re

from gateway.core.events import new_id


def test_ids_are_16_url_safe_characters_and_never_repeat() -> None:
    ids = [new_id() for _ in range(5000)]  # about 20 refills of the buffer
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", i) for i in ids)
    assert len(set(ids)) == len(ids)
