"""A deterministic demo watchlist: six KOLs, ~120 days each, two with an anomaly yesterday."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from watcher.model import Point

DAYS = 120
# Follows cluster at weekends on Xiaohongshu; Monday = index 0.
WEEKLY = (0.9, 0.85, 0.9, 0.95, 1.05, 1.25, 1.2)


@dataclass(frozen=True)
class DemoKol:
    """One demo creator with its full history (oldest first, ending yesterday in Beijing)."""

    user_id: str
    name: str
    tags: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class _Profile:
    user_id: str
    name: str
    tags: tuple[str, ...]
    base: int
    gain: float  # mean daily net gain
    cv: float  # relative day-to-day noise
    event: str | None = None  # "spike" | "drop" on the newest day
    seed: int = 0


_PROFILES = (
    _Profile("5b1f3c7e9a2d4f6b8c0e1a3d", "小鹿的穿搭日记", ("fashion", "womenswear"),
             186_000, 300, 0.25, "spike", 11),
    _Profile("5c8e2a4b6d0f1e3a5c7b9d2f", "Lily & <Co>", ("beauty", "skincare"),
             820_000, 650, 0.2, "drop", 12),
    _Profile("5a9d7b3f1c5e8a0b2d4f6e8c", "阿杰探店 Jay Eats", ("food", "shanghai"),
             1_950_000, 1_200, 0.2, None, 13),
    _Profile("60a2c4e6f8b0d1e3f5a7c9b1", "Mia's Home 收纳", ("home", "organizing"),
             54_000, 80, 0.3, None, 14),
    _Profile("61e3a5c7e9b1d3f5a7c9e1b3", "小林 Xiaolin", ("travel",),
             5_200, 6, 0.8, None, 15),
    _Profile("5d4b6f8a0c2e4a6c8e0b2d4f", "旧时光 Old Times", ("vintage", "dormant"),
             31_000, -1, 0.0, None, 16),
)


def _series(p: _Profile, today: dt.date) -> tuple[Point, ...]:
    rng = random.Random(p.seed)
    first = today - dt.timedelta(days=DAYS)
    total = p.base
    points = [Point(first, total)]
    for i in range(1, DAYS):
        day = first + dt.timedelta(days=i)
        if p.cv == 0.0:
            # Dormant: no new content, a trickle of unfollows and the odd follow.
            inc = round(rng.gauss(p.gain, 3))
        else:
            # Clipped noise keeps the "normal" accounts free of accidental outliers.
            noise = max(-2 * p.cv, min(2 * p.cv, rng.gauss(0, p.cv)))
            inc = round(p.gain * WEEKLY[day.weekday()] * (1 + noise))
        if i == DAYS - 1 and p.event == "spike":
            inc += 20_000  # a bought batch: round, on top of the organic day
        elif i == DAYS - 1 and p.event == "drop":
            inc = -round(total * 0.015)  # a platform purge of fake followers
        total += inc
        points.append(Point(day, total))
    return tuple(points)


def demo_watchlist(today: dt.date) -> list[DemoKol]:
    """The demo KOLs with histories ending the day before `today` (a Beijing date)."""
    return [DemoKol(p.user_id, p.name, p.tags, _series(p, today)) for p in _PROFILES]
