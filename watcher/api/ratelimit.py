"""A client-side rate limit shared by all poll workers: GCRA, halved on a 302."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CEILING_MARGIN = 0.9  # after a 302, stay 10% under the rate that drew it
RECOVERY = 0.1  # each success wins back this fraction of the ceiling


class RateLimiter:
    """At most `rate` calls a second over time, with bursts of up to `burst` calls.

    This is the generic cell rate algorithm: a call may go once the theoretical arrival time,
    less the burst tolerance, has come. The burst lets workers that fell behind (one waited on
    a slow answer) catch up, so the pool sustains the full rate. On a 302 the rate halves,
    and the rate that drew it, less a margin, becomes a ceiling that successes creep back to
    but not past: the limiter learns the server's limit instead of probing it over and over.
    """

    def __init__(self, rate: float, *, burst: int = 1,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, floor: float = 0.05) -> None:
        self.max_rate = rate
        self.rate = rate
        self.ceiling = rate
        self._burst = max(1, burst)
        self._floor = min(floor, rate)
        self._now = monotonic
        self._sleep = sleep
        self._tat: float | None = None  # theoretical arrival time of the next call
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Begin a new cycle: no burst allowance saved up while idle (the ceiling is kept)."""
        with self._lock:
            self._tat = None

    def acquire(self) -> None:
        """Block until this caller may make its call."""
        with self._lock:
            now = self._now()
            if self._tat is None:  # start paced: the burst is for catching up, not for opening
                self._tat = now + (self._burst - 1) / self.rate
            tat = max(self._tat, now)
            go = tat - (self._burst - 1) / self.rate
            self._tat = tat + 1.0 / self.rate
        if go > now:
            self._sleep(go - now)

    def slow_down(self) -> None:
        """The server said 302: halve the rate and spend the burst allowance."""
        with self._lock:
            self.ceiling = max(self._floor, min(self.ceiling, self.rate * CEILING_MARGIN))
            self.rate = max(self._floor, self.rate / 2)
            now = self._now()
            tat = now if self._tat is None else max(self._tat, now)
            self._tat = tat + self._burst / self.rate

    def succeeded(self) -> None:
        """A call went through: win back a little of the rate lost to slow_down."""
        with self._lock:
            if self.rate < self.ceiling:
                self.rate = min(self.ceiling, self.rate + RECOVERY * self.ceiling)
