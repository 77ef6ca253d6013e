"""Seeded, labelled corpus of synthetic KOL follower histories for tuning and scoring detectors.

Each KOL gets a base size (log-uniform 1k-10M), a daily gain rate, over-dispersed
(negative-binomial) follows minus Poisson unfollows, and optionally the hard negatives an
analyst would not want flagged (weekly pattern, smooth growth-rate change, steady
acceleration, tiny or dormant account, missing days) and 1-2 labelled anomalies
(bought burst, viral jump, purge, net loss, collapse of gain). Labels are day ranges of the
*increment* index: increment i is total[i] - total[i-1].
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from watcher.model import Point, Series

HARD_TAGS = ("weekly", "ramp", "accel", "tiny", "dormant", "gaps", "bumpy")
SPIKE_KINDS = ("bought", "viral")
DROP_KINDS = ("purge", "netloss", "collapse")
START = dt.date(2025, 6, 2)


@dataclass(frozen=True)
class Event:
    """A labelled anomaly covering increments first..last (inclusive day indices)."""

    first: int
    last: int
    kind: str
    direction: str  # "spike" or "drop"


@dataclass
class Kol:
    """One synthetic KOL: totals per day (None = missing), labels and hard-negative tags."""

    user_id: str
    start: dt.date
    totals: list[int | None]
    events: list[Event] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)

    def series(self) -> Series:
        """The history as the detector sees it."""
        pts = tuple(
            Point(self.start + dt.timedelta(i), t)
            for i, t in enumerate(self.totals)
            if t is not None
        )
        return Series(self.user_id, pts)

    def body(self) -> dict[str, Any]:
        """A Just One API response body with the added top-level userId."""
        items = [
            {"num": t, "dateKey": (self.start + dt.timedelta(i)).isoformat()}
            for i, t in enumerate(self.totals)
            if t is not None
        ]
        return {"userId": self.user_id, "code": 0, "message": None, "data": {"list": items}}


def generate(n: int, days: int = 90, seed: int = 0, harsh: bool = False) -> list[Kol]:
    """`n` KOLs of `days` days each; the same arguments always give the same corpus.

    `harsh` widens the hard negatives: stronger weekly peaks, faster ramps and acceleration,
    noisier tiny accounts, longer gaps.
    """
    return [_kol(np.random.default_rng([seed, i, harsh]), i, days, harsh) for i in range(n)]


def write_jsonl(kols: Iterable[Kol], path: Path) -> None:
    """One API body per line, the `watcher backtest` input format."""
    with path.open("w", encoding="utf-8") as fh:
        for k in kols:
            fh.write(json.dumps(k.body(), separators=(",", ":")) + "\n")


def _loguni(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _nice(x: float) -> float:
    """Round to a package-like number: 1, 2 or 5 times a power of ten."""
    p = 10 ** np.floor(np.log10(max(x, 1.0)))
    return float(min((m * p for m in (1, 2, 5, 10)), key=lambda v: abs(v - x)))


def _kol(rng: np.random.Generator, i: int, days: int, harsh: bool) -> Kol:
    tags: set[str] = set()
    base = _loguni(rng, 1e3, 1e7)
    u = rng.uniform()
    if u < 0.12:
        tags.add("tiny")
        base = _loguni(rng, 1e3, 5e3)
        rate = rng.uniform(0.3, 3.0)
    elif u < 0.22:
        tags.add("dormant")
        rate = rng.uniform(0.0, 1.0) + base * _loguni(rng, 1e-7, 3e-6)
    else:
        rate = base * _loguni(rng, 1e-4, 5e-3)
    t = np.arange(days, dtype=float)
    mult = np.ones(days)
    if rng.uniform() < 0.3:
        tags.add("ramp")
        a, length = rng.integers(5, days - 10), rng.integers(7, 31)
        m = _loguni(rng, 1 / 4, 4.0) if harsh else _loguni(rng, 1 / 3, 3.0)
        mult *= 1 + (m - 1) * np.clip((t - a) / length, 0, 1)
    if rng.uniform() < 0.15:
        tags.add("accel")
        mult *= np.exp(np.log(_loguni(rng, 1 / 3, 6.0 if harsh else 4.0)) * t / days)
    mult *= np.maximum(1 + 0.15 * np.cumsum(rng.normal(0, 0.05, days)), 0.3)  # slow drift
    start = START + dt.timedelta(int(rng.integers(0, 7)))
    if rng.uniform() < 0.35:
        tags.add("weekly")
        mult *= _weekly(rng, start, days, 1.6 if harsh else 1.0)
    if rng.uniform() < 0.1:
        tags.add("bumpy")  # occasional good posts: 1.5-2.5x days that are not anomalies
        bumps = rng.uniform(size=days) < 0.04
        mult *= np.where(bumps, rng.uniform(1.5, 2.5, days), 1.0)
    mu = rate * mult
    r = _loguni(rng, 4.0, 60.0)
    follows = rng.negative_binomial(r, r / (r + mu)).astype(float)
    unf_rate = mu * rng.uniform(0.03, 0.2) + base * _loguni(rng, 1e-7, 3e-6)
    ru = _loguni(rng, 3.0, 30.0)  # unfollows come in clumps too
    inc = follows - rng.negative_binomial(ru, ru / (ru + unf_rate))
    if harsh and "tiny" in tags:  # tiny accounts: the odd +5..+12 day is still noise
        inc += np.where(rng.uniform(size=days) < 0.05, rng.integers(5, 13, days), 0)
    events = _anomalies(rng, inc, mu, base, days) if rng.uniform() < 0.45 else []
    totals_f = base + np.cumsum(inc)
    totals: list[int | None] = [max(int(x), 0) for x in totals_f]
    if rng.uniform() < 0.25:
        tags.add("gaps")
        for _ in range(int(rng.integers(1, 4))):
            g0 = int(rng.integers(10, days - 2))
            for d in range(g0, min(g0 + int(rng.integers(1, 8 if harsh else 5)), days - 1)):
                totals[d] = None
    # an event whose increments all fell into or just after a gap cannot be seen: no label
    events = [e for e in events if any(_seen(totals, d) for d in range(e.first, e.last + 1))]
    return Kol(f"kol{i:05d}", start, totals, events, tags)


def _seen(totals: list[int | None], d: int) -> bool:
    return d > 0 and totals[d] is not None and totals[d - 1] is not None


def _weekly(rng: np.random.Generator, start: dt.date, days: int, amp: float) -> np.ndarray:
    dow = (start.weekday() + np.arange(days)) % 7
    f = np.ones(7)
    if rng.uniform() < 0.6:
        f[5:] = 1 + amp * rng.uniform(0.2, 0.9, 2)  # weekend peaks
    else:
        d = int(rng.integers(0, 7))  # a weekly posting day and its tail
        f[d], f[(d + 1) % 7] = 1 + amp * rng.uniform(0.4, 1.2), 1 + amp * rng.uniform(0.1, 0.5)
    return np.asarray((f / f.mean())[dow])


def _anomalies(
    rng: np.random.Generator, inc: np.ndarray, mu: np.ndarray, base: float, days: int
) -> list[Event]:
    events: list[Event] = []
    busy = np.zeros(days, dtype=bool)
    for _ in range(int(rng.integers(1, 3))):
        kind = str(rng.choice(["bought", "bought", "viral", "purge", "netloss", "collapse"]))
        a = int(rng.integers(12, days))
        if busy[max(0, a - 10) : a + 10].any():
            continue
        ev = _inject(rng, kind, a, inc, mu, base, days)
        if ev is not None:
            events.append(ev)
            busy[ev.first : ev.last + 1] = True
    return sorted(events, key=lambda e: e.first)


def _inject(
    rng: np.random.Generator,
    kind: str,
    a: int,
    inc: np.ndarray,
    mu: np.ndarray,
    base: float,
    days: int,
) -> Event | None:
    m = float(max(np.median(mu[max(0, a - 14) : a]), 1.0))
    if kind == "bought":
        n = int(rng.choice([1, 1, 2, 3]))
        total = _nice(n * max(m * _loguni(rng, 4, 40), rng.uniform(150, 400)))
        w = rng.uniform(0.5, 1.0, n)
        for k in range(min(n, days - a)):
            inc[a + k] += round(total * w[k] / w.sum())
        return Event(a, min(a + n, days) - 1, kind, "spike")
    if kind == "viral":
        peak = max(m * _loguni(rng, 4, 40), rng.uniform(100, 300))
        decay, k = rng.uniform(0.35, 0.7), 0
        excess = [peak * 0.4] if rng.uniform() < 0.3 else []  # sometimes a day of build-up
        while peak * decay**k >= max(0.5 * m, 5.0) and len(excess) < 10:
            excess.append(peak * decay**k)
            k += 1
        last = min(a + len(excess), days) - 1
        for j, x in enumerate(excess[: last - a + 1]):
            inc[a + j] += round(x * rng.lognormal(0, 0.15))
        inc[last + 1 :] = np.round(inc[last + 1 :] * (1 + rng.uniform(0, 0.2)))  # new fans stay
        return Event(a, last, kind, "spike")
    if kind == "purge":
        n = 1 if rng.uniform() < 0.8 else 2
        # a loss of a handful is noise on any account (as a +8 is): purges are 20+ followers
        loss = max(base * _loguni(rng, 0.002, 0.03), rng.uniform(20, 60))
        for k in range(min(n, days - a)):
            inc[a + k] -= round(loss / n)
        return Event(a, min(a + n, days) - 1, kind, "drop")
    if kind == "netloss":
        n = int(rng.integers(1, 4))
        for k in range(min(n, days - a)):
            loss = max(
                m * rng.uniform(1.5, 5), base * _loguni(rng, 0.0005, 0.005), rng.uniform(15, 40)
            )
            inc[a + k] = round(inc[a + k] * 0.1 - loss)
        return Event(a, min(a + n, days) - 1, kind, "drop")
    # collapse of gain: only meaningful where there is a real gain to lose
    if m < 50:
        return None
    n = int(rng.integers(2, 6))
    for k in range(min(n, days - a)):
        inc[a + k] = round(inc[a + k] * rng.uniform(0.0, 0.1))
    return Event(a, min(a + n, days) - 1, kind, "drop")
