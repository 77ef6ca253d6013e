"""A client-side pacer shared by all poll workers: even spacing, halved on a 302."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out call slots `1/rate` seconds apart; AIMD: halve on slow_down, creep back up."""

    def __init__(self, rate: float, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, floor: float = 0.05) -> None:
        self.max_rate = rate
        self.rate = rate
        self._floor = min(floor, rate)
        self._now = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until this caller's slot comes."""
        with self._lock:
            now = self._now()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        if slot > now:
            self._sleep(slot - now)

    def slow_down(self) -> None:
        """The server said 302: halve the rate and push the next slot back."""
        with self._lock:
            self.rate = max(self._floor, self.rate / 2)
            self._next = max(self._next, self._now()) + 1.0 / self.rate

    def succeeded(self) -> None:
        """A call went through: win back a little of the rate lost to slow_down."""
        with self._lock:
            if self.rate < self.max_rate:
                self.rate = min(self.max_rate, self.rate + 0.05 * self.max_rate)
