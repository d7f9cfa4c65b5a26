"""The one token bucket, on a clock moved by hand."""

from __future__ import annotations

import pytest

from gateway.core.pacing import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reserve_gives_the_burst_at_once_then_one_token_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)  # the 4th waits for one token
    assert bucket.reserve() == pytest.approx(1.0)  # the 5th for the next one after it


def test_bucket_refills_with_time_but_never_beyond_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock)
    bucket.reserve(), bucket.reserve()
    clock.now += 1.0
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(1.0)
    clock.now += 60.0  # idle for a minute: still only `burst` at once
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_take_refuses_without_taking_when_too_few_tokens_are_there() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=0.3, burst=3, clock=clock)  # the CTCP reply budget: 3 per 10 s
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 3.0  # 0.9 of a token
    assert not bucket.take()
    clock.now += 0.4
    assert bucket.take() and not bucket.take()
    assert not bucket.take(2)
    clock.now += 10.0
    assert bucket.take(3)


def test_take_up_to_takes_the_whole_tokens_there_and_wait_says_when_the_next_comes() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=5, clock=clock)
    assert bucket.take_up_to(3) == 3
    assert bucket.take_up_to(10) == 2
    assert bucket.take_up_to(10) == 0
    assert bucket.wait() == pytest.approx(0.5)
    clock.now += 0.25
    assert bucket.wait() == pytest.approx(0.25) and bucket.take_up_to(1) == 0
    clock.now += 1.25  # 3 tokens
    assert bucket.wait() == 0.0
    assert bucket.take_up_to(10) == 3


def test_reset_fills_the_bucket_again() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock)
    assert bucket.take_up_to(2) == 2
    bucket.reset()
    assert bucket.take_up_to(5) == 2


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_bucket_that_could_never_give_a_token_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst)
