"""The one retry schedule: capped exponential backoff with jitter, for reconnects (XMPP stream, IRC) and retried
requests (SMS creates).

Jitter: each wait is its nominal delay times a random factor in [0.8, 1.0]. Many connections dropped by one outage
spread their retries over a fifth of the delay, and no wait is ever longer than the nominal delay, so the cap is a
real upper bound. Hand-written: `backoff` and `tenacity` wrap a whole call in a decorator, while our loops decide
themselves what counts as a success (a stream that stayed up long enough) and when to start over.
"""

from __future__ import annotations

import random

JITTER = 0.2  # a wait is shortened by up to this fraction of its nominal delay
# Shared: seeding a Random of its own (from os.urandom) cost more than the rest of an SMS create's bookkeeping.
_SHARED = random.Random()


class Backoff:
    """Waits that start at `first` seconds and double after each one, up to `cap`; `reset` starts over."""

    __slots__ = ("_delay", "_rng", "cap", "first")

    def __init__(self, first: float, cap: float, rng: random.Random | None = None) -> None:
        if first <= 0 or cap <= 0:
            raise ValueError("first and cap must be above 0")
        self.first = first
        self.cap = cap
        self._rng = rng or _SHARED
        self._delay = min(first, cap)

    @property
    def delay(self) -> float:
        """The nominal length of the next wait (before jitter): what a log line can announce."""
        return self._delay

    def next(self) -> float:
        """The next wait, jittered; the one after it is twice as long (up to the cap)."""
        wait = self._delay * self._rng.uniform(1 - JITTER, 1.0)
        self._delay = min(self._delay * 2, self.cap)
        return wait

    def reset(self) -> None:
        """After a success: the next wait is the first one again."""
        self._delay = min(self.first, self.cap)
