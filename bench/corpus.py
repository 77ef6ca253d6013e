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


def generate_alt(n: int, days: int = 90, seed: int = 0, small: bool = False) -> list[Kol]:
    """A differently built corpus, never tuned on: a check that tuning did not overfit `generate`.

    Growth is a share of the base with lognormal day noise around a negative binomial, hard
    negatives and anomalies follow the issue's wording directly with their own size ranges.
    `small` shrinks the anomalies (bought 3-6x, viral 3-8x, purges 0.2-0.6% of the base).
    """
    return [_alt(np.random.default_rng([seed, i, 7]), i, days, small) for i in range(n)]


def _alt(rng: np.random.Generator, i: int, days: int, small: bool) -> Kol:
    tags: set[str] = set()
    kind = rng.choice(["normal", "tiny", "dormant"], p=[0.8, 0.1, 0.1])
    base = _loguni(rng, 1e3, 1e7)
    if kind == "tiny":
        tags.add("tiny")
        base, med = _loguni(rng, 1e3, 3e3), rng.uniform(0.5, 2)
    elif kind == "dormant":
        tags.add("dormant")
        med = 0.0
    else:
        med = base * _loguni(rng, 5e-5, 3e-3)
    t = np.arange(days, dtype=float)
    lvl = np.full(days, med)
    if rng.uniform() < 0.25:  # growth rate moves to a new level over one to three weeks
        tags.add("ramp")
        r0, rw = rng.integers(0, days - 20), rng.integers(7, 22)
        lvl *= 1 + (rng.uniform(0.3, 3.0) - 1) * np.clip((t - r0) / rw, 0, 1)
    if rng.uniform() < 0.15:  # steady acceleration: the rate grows a little every day
        tags.add("accel")
        lvl *= (1 + rng.uniform(0.005, 0.02)) ** t
    start = START + dt.timedelta(int(rng.integers(0, 7)))
    if rng.uniform() < 0.3:
        tags.add("weekly")
        dow = (start.weekday() + np.arange(days)) % 7
        lvl *= np.where(dow >= 5, rng.uniform(1.3, 2.2), 1.0)
    noisy = lvl * rng.lognormal(0, rng.uniform(0.05, 0.3), days)
    r = rng.uniform(5, 40)
    inc = rng.negative_binomial(r, r / (r + noisy)).astype(float)
    inc -= rng.poisson(0.05 * noisy + (0.6 if kind == "dormant" else 0.0))
    if kind == "tiny":  # the odd +6..+9 day on a +1 account is noise, not a burst
        inc += np.where(rng.uniform(size=days) < 0.04, rng.integers(6, 10, days), 0)
    events: list[Event] = []
    if rng.uniform() < 0.4:
        a = int(rng.integers(14, days - 3))
        m = max(float(np.median(lvl[max(0, a - 14) : a])), 1.0)
        ev = str(rng.choice(["bought", "viral", "purge", "collapse"]))
        if ev == "bought":
            n = min(int(rng.integers(1, 4)), days - a)
            lo, hi, floor = (3.0, 6.0, 100.0) if small else (5.0, 20.0, 200.0)
            size = _nice(max(m * float(rng.uniform(lo, hi)), floor) * n)
            inc[a : a + n] += size / n
            events.append(Event(a, a + n - 1, ev, "spike"))
        elif ev == "viral":
            k = min(int(rng.integers(3, 8)), days - a)
            lo, hi, floor = (3.0, 8.0, 80.0) if small else (5.0, 30.0, 150.0)
            peak = max(m * float(rng.uniform(lo, hi)), floor)
            inc[a : a + k] += peak * 0.6 ** np.arange(k)
            last = a + int(np.sum(peak * 0.6 ** np.arange(k) >= max(m, 10.0))) - 1
            events.append(Event(a, min(max(last, a), days - 1), ev, "spike"))
        elif ev == "purge":
            lo, hi, floor = (0.002, 0.006, 20.0) if small else (0.003, 0.02, 30.0)
            inc[a] -= max(base * float(rng.uniform(lo, hi)), floor)
            events.append(Event(a, a, ev, "drop"))
        elif m >= 80:  # collapse of gain for 2-4 days, only where there is a gain to lose
            n = min(int(rng.integers(2, 5)), days - a)
            inc[a : a + n] = np.round(inc[a : a + n] * 0.05)
            events.append(Event(a, a + n - 1, ev, "drop"))
    totals: list[int | None] = [max(int(x), 0) for x in base + np.cumsum(np.round(inc))]
    if rng.uniform() < 0.3:
        tags.add("gaps")
        g0 = int(rng.integers(10, days - 6))
        for d in range(g0, g0 + int(rng.integers(1, 6))):
            totals[d] = None
    events = [e for e in events if any(_seen(totals, d) for d in range(e.first, e.last + 1))]
    return Kol(f"alt{i:05d}", start, totals, events, tags)
