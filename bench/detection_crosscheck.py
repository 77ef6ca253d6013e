"""A cross-check of the detector on a corpus built apart from bench/corpus.py (never tuned on).

Usage: .venv/bin/python -m bench.detection_crosscheck [SEED ...]   (default seeds 1 2 3)

Written by a second engineer from the issue's list of kinds, without reading the tuning
corpus, to catch a detector fitted to one generator's habits. Per seed: 1000 KOLs x 90
days; bases log-uniform 1k-10M, gamma-Poisson (over-dispersed) gains with weekend peaks,
unfollows; bought bursts (1-3 days, 10-40x the usual gain, round numbers), viral jumps
(10-30x decaying by 0.55 a day), purges (0.3-2% of the base); hard negatives: plain, trend
changes over 1-2 weeks, 1%/day acceleration, tiny accounts with +5..+8 days, dormant
accounts, missing days, no weekly pattern. Events match with one day of slack.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

import numpy as np

from watcher.detect import DetectSettings, detect_many
from watcher.model import Finding, Point, Series

DAYS = 90
END = dt.date(2025, 12, 7)
KINDS = {"bought": 150, "viral": 100, "purge": 100, "normal": 150, "trend": 100,
         "accel": 60, "tiny": 80, "dormant": 60, "gaps": 80, "noweek": 40}


@dataclass(frozen=True)
class Case:
    kind: str
    series: Series
    events: tuple[tuple[str, int, int], ...]  # (direction, first day index, last day index)


def _daily_rate(rng: np.random.Generator, kind: str, gain: float) -> np.ndarray:
    mult = np.ones(DAYS)
    if kind != "noweek":
        dow0, amp = int(rng.integers(0, 7)), rng.uniform(1.1, 1.5)
        mult[[t for t in range(DAYS) if (dow0 + t) % 7 in (5, 6)]] = amp
    if kind == "trend":
        t0, width = int(rng.integers(30, 70)), int(rng.integers(7, 15))
        factor = rng.uniform(1.5, 3.0) if rng.random() < 0.7 else rng.uniform(0.3, 0.6)
        mult *= 1 + (factor - 1) * np.clip((np.arange(DAYS) - t0) / width, 0, 1)
    if kind == "accel":
        mult *= 1.01 ** np.arange(DAYS)
    return gain * mult


def make_case(rng: np.random.Generator, user_id: str, kind: str) -> Case:
    """One KOL of the given kind, with its labelled events."""
    base = float(np.exp(rng.uniform(np.log(1e3), np.log(1e7))))
    gain = base * rng.uniform(0.0003, 0.004)
    if kind == "tiny":
        base, gain = rng.uniform(1000, 3000), rng.uniform(0.5, 2)
    shape = rng.uniform(2, 15)
    rate = _daily_rate(rng, kind, 0.0 if kind == "dormant" else gain)
    inc = np.array([rng.poisson(rng.gamma(shape, r / shape)) if r > 0 else 0 for r in rate],
                   dtype=float)
    if kind == "dormant":
        inc = rng.choice([0, 0, 0, 1, -1], size=DAYS).astype(float)
    if kind == "tiny":
        inc[rng.choice(DAYS, 3, replace=False)] += rng.integers(5, 9, 3)
    inc -= rng.poisson(0.1 * max(gain, 0.1), size=DAYS)  # unfollows
    t = int(rng.integers(40, 85))
    events: list[tuple[str, int, int]] = []
    if kind == "bought":
        n = int(rng.integers(1, 4))
        amount = max(round(rng.uniform(10, 40) * gain, -2), 500 if base > 1e4 else 100)
        inc[t:t + n] += amount / n
        events.append(("spike", t, min(DAYS - 1, t + n - 1)))
    elif kind == "viral":
        m = rng.uniform(10, 30)
        for j in range(6):
            if t + j < DAYS:
                inc[t + j] += m * gain * 0.55 ** j
        events.append(("spike", t, min(DAYS - 1, t + 2)))
    elif kind == "purge":
        inc[t] -= (base + inc[:t].sum()) * rng.uniform(0.003, 0.02)
        events.append(("drop", t, t))
    totals = base + np.cumsum(inc)
    points = [Point(END - dt.timedelta(days=DAYS - 1 - i), int(max(0.0, v)))
              for i, v in enumerate(totals)]
    if kind == "gaps":
        missing = set(rng.choice(range(10, DAYS - 1), int(rng.integers(1, 4)), replace=False))
        points = [p for i, p in enumerate(points) if i not in missing]
    return Case(kind, Series(user_id, tuple(points)), tuple(events))


def _events(findings: list[Finding], first: dt.date) -> list[tuple[str, int, int]]:
    """Flagged days as events: runs of one direction, one day of slack between days."""
    out: list[tuple[str, int, int]] = []
    for f in findings:
        t = (f.day - first).days
        if out and out[-1][0] == f.direction and t - out[-1][2] <= 1:
            out[-1] = (out[-1][0], out[-1][1], t)
        else:
            out.append((f.direction, t, t))
    return out


def score(seed: int) -> str:
    """One seed's precision, recall, F1 and false alarms per 1000 hard-negative KOL-days."""
    rng = np.random.default_rng(seed)
    kinds = [k for k, n in KINDS.items() for _ in range(n)]
    cases = [make_case(rng, f"{i:024x}", k) for i, k in enumerate(kinds)]
    results = detect_many([c.series for c in cases], DetectSettings())
    tp = fn = fp = hard_fp = hard_days = 0
    for case, findings in zip(cases, results, strict=True):
        found = _events(findings, END - dt.timedelta(days=DAYS - 1))
        matched: set[int] = set()
        for direction, a, b in case.events:
            hits = [i for i, (d, x, y) in enumerate(found)
                    if d == direction and x <= b + 1 and y >= a - 1]
            tp, fn = (tp + 1, fn) if hits else (tp, fn + 1)
            matched.update(hits)
        fp += len(found) - len(matched)
        if not case.events:
            hard_fp += len(found) - len(matched)
            hard_days += DAYS
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    f1 = 2 * p * r / max(1e-9, p + r)
    return (f"seed {seed}: precision {p:.3f} recall {r:.3f} F1 {f1:.3f} "
            f"FA/1k hard-negative KOL-days {1000 * hard_fp / hard_days:.2f}")


if __name__ == "__main__":
    for s in [int(a) for a in sys.argv[1:]] or [1, 2, 3]:
        print(score(s))
