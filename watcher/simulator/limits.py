"""Request-rate and daily-quota limits, as the vendor enforces them per token."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable


class TokenBucket:
    """Allows bursts of `capacity` requests, refilled at `rate` per second. Not thread-safe."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("max_rps must be positive")
        self.rate = rate
        # A burst of at least one, so a limit below 1 rps still lets the first call through.
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def take(self) -> bool:
        """Spend one token if there is one; False means "answer 302"."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class DailyQuota:
    """Counts billed calls per Beijing day, starting afresh each day. Not thread-safe."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._day: dt.date | None = None
        self._used = 0

    def _roll(self, day: dt.date) -> None:
        if day != self._day:
            self._day, self._used = day, 0

    def exhausted(self, day: dt.date) -> bool:
        """True when no billed call is left for `day`."""
        self._roll(day)
        return self.limit is not None and self._used >= self.limit

    def bill(self, day: dt.date) -> None:
        """Record one billed call on `day`."""
        self._roll(day)
        self._used += 1
