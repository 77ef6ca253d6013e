"""Plain data that crosses module boundaries: watchlist entries, history, findings, alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["spike", "drop"]


@dataclass(frozen=True)
class Point:
    """One day's follower total; `day` is a Beijing (Asia/Shanghai) calendar date."""

    day: dt.date
    total: int


@dataclass(frozen=True)
class Series:
    """A KOL's daily totals, oldest first, one point per day at most (gaps allowed)."""

    user_id: str
    points: tuple[Point, ...]

    @property
    def newest(self) -> dt.date | None:
        return self.points[-1].day if self.points else None


@dataclass(frozen=True)
class Finding:
    """One anomalous day, with everything needed to explain why it was flagged."""

    user_id: str
    day: dt.date  # the day whose increment (total[day] - total[day-1]) is anomalous
    direction: Direction
    increment: int
    baseline: float  # the expected daily gain on that day
    score: float  # robust z-like score; larger magnitude = more anomalous
    ratio: float | None  # increment / baseline when the baseline is positive
    total: int  # follower total at the end of `day`
    pct_of_base: float  # increment as a percent of the previous day's total
    rule: str  # human-readable rule that fired
    event_start: dt.date  # first day of the run of same-direction anomalous days


@dataclass(frozen=True)
class Alert:
    """A finding bound to the KOL it concerns, ready for rendering."""

    kol_name: str
    user_id: str
    tags: tuple[str, ...]
    finding: Finding
    recent: tuple[Point, ...] = field(default=())  # recent history, for sparklines
    previous_score: float | None = None  # set when this re-alerts an event that escalated


@dataclass(frozen=True)
class Digest:
    """Several anomalies sent as one message, strongest first (a `group: digest` route)."""

    route: str
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class Notice:
    """An operational alert: the token, balance, quota or data feed needs a human."""

    key: str  # dedup key, e.g. "account:100"
    title: str
    detail: str


def severity(alert: Alert) -> float:
    """How anomalous: the score's magnitude (drops have negative scores)."""
    return abs(alert.finding.score)


def rank(alerts: Iterable[Alert]) -> tuple[Alert, ...]:
    """Strongest first; ties by day (newest first), then user id, so the order is stable."""
    return tuple(sorted(alerts, key=lambda a: (-severity(a), -a.finding.day.toordinal(),
                                               a.user_id)))
