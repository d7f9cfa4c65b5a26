"""The one retry schedule: doubling, capped, jittered downwards only, and starting over on reset."""

from __future__ import annotations

import random

import pytest

from gateway.core.backoff import JITTER, Backoff


class Extremes(random.Random):
    """A random source that yields the lowest factor, then the highest, alternately."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def uniform(self, a: float, b: float) -> float:
        self.calls += 1
        return a if self.calls % 2 else b


def test_waits_double_up_to_the_cap() -> None:
    backoff = Backoff(1.0, 10.0, rng=Extremes())
    waits = [backoff.next() for _ in range(6)]
    low = 1 - JITTER
    assert waits == pytest.approx([1.0 * low, 2.0, 4.0 * low, 8.0, 10.0 * low, 10.0])


def test_every_wait_lies_between_80_and_100_percent_of_its_delay() -> None:
    backoff = Backoff(0.5, 30.0, rng=random.Random(7))
    for _ in range(200):
        nominal = backoff.delay
        assert 0.8 * nominal <= backoff.next() <= nominal
    assert backoff.delay == 30.0


def test_reset_starts_over_from_the_first_delay() -> None:
    backoff = Backoff(1.0, 60.0)
    for _ in range(4):
        backoff.next()
    assert backoff.delay == 16.0
    backoff.reset()
    assert backoff.delay == 1.0
    assert 0.8 <= backoff.next() <= 1.0


def test_a_first_delay_above_the_cap_is_capped() -> None:
    backoff = Backoff(5.0, 2.0)
    assert backoff.delay == 2.0 and backoff.next() <= 2.0
    backoff.reset()
    assert backoff.delay == 2.0


@pytest.mark.parametrize(("first", "cap"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 5.0)])
def test_a_schedule_without_waits_is_refused(first: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(first, cap)
