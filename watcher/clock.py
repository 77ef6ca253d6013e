"""Time as an injected dependency: the daemon uses the system clock, tests a fixed one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, delta: dt.timedelta) -> None:
        self._at += delta


def beijing_today(clock: Clock) -> dt.date:
    """The vendor's calendar day: dateKey values are Asia/Shanghai dates."""
    return clock.now().astimezone(BEIJING).date()


def beijing_midnight(clock: Clock) -> dt.datetime:
    """The start of the current Beijing day, as an aware datetime."""
    today = beijing_today(clock)
    return dt.datetime(today.year, today.month, today.day, tzinfo=BEIJING)


def newest_complete_day(clock: Clock) -> dt.date:
    """Yesterday in Beijing: the API never serves the day in progress."""
    return beijing_today(clock) - dt.timedelta(days=1)
