"""The client-side rate limiter, on an injected clock."""

from __future__ import annotations

from watcher.api.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _times(limiter: RateLimiter, t: FakeTime, n: int) -> list[float]:
    out = []
    for _ in range(n):
        limiter.acquire()
        out.append(round(t.now, 6))
    return out


def test_paces_calls_at_the_rate() -> None:
    t = FakeTime()
    lim = RateLimiter(4, monotonic=t.monotonic, sleep=t.sleep)
    assert _times(lim, t, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_burst_lets_a_late_caller_catch_up_but_not_exceed_the_rate() -> None:
    t = FakeTime()
    lim = RateLimiter(4, burst=3, monotonic=t.monotonic, sleep=t.sleep)
    assert _times(lim, t, 2) == [0.0, 0.25]  # a cycle opens paced, not with a burst
    t.now = 1.0  # the callers fell behind (a slow answer): they may catch up, 3 at most
    assert _times(lim, t, 4) == [1.0, 1.0, 1.0, 1.25]
    t.now = 10.0
    lim.restart()  # a new cycle: nothing saved up from the idle time
    assert _times(lim, t, 2) == [10.0, 10.25]


def test_slow_down_halves_and_success_recovers() -> None:
    t = FakeTime()
    lim = RateLimiter(4, monotonic=t.monotonic, sleep=t.sleep)
    lim.acquire()
    lim.slow_down()
    assert lim.rate == 2
    lim.acquire()
    assert t.now >= 0.5  # the next slot was pushed back at the lower rate
    for _ in range(100):
        lim.succeeded()
    assert lim.rate == 4 * 0.9  # back up to just under the rate that drew the 302
