"""What the benchmark reads off a Prometheus histogram sampled before and after a run."""

from __future__ import annotations

import math

from bench.measure import bucket_bounds


def test_bucket_bounds_count_only_what_was_observed_between_the_two_samples() -> None:
    inf = math.inf
    before = {0.001: 50.0, 0.01: 60.0, 0.1: 60.0, 1.0: 61.0, inf: 61.0}  # the 1 s stall happened before the run
    # During the run: 98 observations under 1 ms, 1 under 10 ms, 1 under 100 ms.
    after = {0.001: 148.0, 0.01: 159.0, 0.1: 160.0, 1.0: 161.0, inf: 161.0}
    assert bucket_bounds(before, after, 0.98) == (0.001, 0.1)
    assert bucket_bounds(before, after, 0.99) == (0.01, 0.1)


def test_bucket_bounds_of_nothing_observed_are_unknown() -> None:
    p99, longest = bucket_bounds({0.1: 5.0, math.inf: 5.0}, {0.1: 5.0, math.inf: 5.0}, 0.99)
    assert math.isnan(p99) and math.isnan(longest)
