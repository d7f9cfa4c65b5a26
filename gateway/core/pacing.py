"""The one token bucket: SMS sends per number, IRC lines per connection and CTCP replies all keep their pace here.

Hand-written: aiolimiter and friends take one token per `acquire` on the loop's own clock, while the IRC send
queue takes as many tokens as it has lines waiting, the SMS outbox reserves a token ahead of its request, and
tests run on a virtual clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`burst` tokens at once, then `rate` per second; never more than `burst` banked.

    The clock is a callable returning seconds (monotonic by default), so tests can move time by hand.
    """

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be above 0 and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def reset(self) -> None:
        """Full again, counting from now (e.g. a new connection: the server counts from zero)."""
        self._tokens = float(self.burst)
        self._stamp = self._clock()

    def take(self, count: int = 1) -> bool:
        """Take `count` tokens if that many are there now; else take none."""
        self._refill()
        if self._tokens < count:
            return False
        self._tokens -= count
        return True

    def take_up_to(self, count: int) -> int:
        """Take as many whole tokens as are there, `count` at most; how many were taken."""
        self._refill()
        taken = max(0, min(count, int(self._tokens)))
        self._tokens -= taken
        return taken

    def wait(self) -> float:
        """Seconds until one token is there (0 if one is there now); takes nothing."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    def until_full(self) -> float:
        """Seconds until `burst` tokens are banked again (from then on the bucket is the same as a new one)."""
        self._refill()
        return (self.burst - self._tokens) / self.rate

    def reserve(self) -> float:
        """Take a token now, ahead of time if none is there: the seconds to wait before using it.

        Each reservation queues behind the previous ones, so callers that each wait their delay keep the rate.
        """
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
