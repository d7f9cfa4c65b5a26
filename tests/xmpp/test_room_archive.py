"""What a join's <history/> asks of a room's archive (XEP-0045 7.2.15), and the default when it asks nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from gateway.xmpp.room_archive import MAX_HISTORY, _history_request


def history(**attributes: str) -> ET.Element:
    return ET.Element("{http://jabber.org/protocol/muc}history", attributes)


def test_no_history_element_takes_the_configured_default_and_0_is_none() -> None:
    assert _history_request(None, 20) == (20, None, None)
    assert _history_request(None, 0) is None
    assert _history_request(None, 10_000) == (MAX_HISTORY, None, None)


def test_maxstanzas_and_maxchars_of_0_ask_for_none() -> None:
    assert _history_request(history(maxstanzas="0"), 20) is None
    assert _history_request(history(maxchars="0"), 20) is None
    assert _history_request(history(maxstanzas="5"), 20) == (5, None, None)


def test_seconds_and_since_bound_the_time_the_later_of_both() -> None:
    limit, since, _ = _history_request(history(seconds="60"), 20) or (0, None, None)
    assert limit == MAX_HISTORY and since is not None
    assert abs(since - (datetime.now(UTC) - timedelta(seconds=60))) < timedelta(seconds=5)
    _, since, _ = _history_request(history(seconds="60", since="2000-01-01T00:00:00Z"), 20) or (0, None, None)
    assert since is not None and since.year == datetime.now(UTC).year


def test_values_that_are_no_numbers_or_dates_are_ignored_and_huge_ones_are_held() -> None:
    assert _history_request(history(maxstanzas="lots", since="yesterday"), 20) == (20, None, None)
    limit, since, _ = _history_request(history(seconds="9" * 30), 20) or (0, None, None)
    assert limit == MAX_HISTORY and since is not None and since.year < 2000
