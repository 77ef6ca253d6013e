"""Schedules: the config's cron line or interval as an APScheduler trigger."""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config.model import ScheduleConfig

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 = Sunday


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3 names (its numbers start at Monday)."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            lo, hi = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            lo, hi = _weekday(first), _weekday(last)
        else:
            lo = _weekday(span)
            hi = 6 if step_text else lo
        if step < 1 or lo > hi:
            raise ValueError(f"bad day-of-week item {item!r}")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)  # 7 is Sunday too
    return _WEEKDAYS.index(token[:3])  # ValueError for anything else


def make_trigger(schedule: ScheduleConfig, *, jitter: bool = True) -> BaseTrigger:
    """The APScheduler trigger for `schedule.cron` or `schedule.every`, with its jitter."""
    spread = round(schedule.jitter_s) if jitter and schedule.jitter_s else None
    if schedule.every_s is not None:
        return IntervalTrigger(seconds=schedule.every_s, timezone=schedule.timezone,
                               jitter=spread)
    assert schedule.cron is not None
    return cron_trigger(schedule.cron, schedule.timezone, spread)


def cron_trigger(expr: str, timezone: str, jitter: int | None = None) -> CronTrigger:
    """A crontab line as crontab(5) means it; raises ValueError for one it cannot take.

    APScheduler 3 numbers weekdays from Monday = 0, so `* * * * 1-5` would run Tuesday to
    Saturday: the day-of-week field is translated to names first."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab line has 5 fields, not {len(fields)}")
    minute, hour, day, month, dow = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=crontab_weekdays(dow), timezone=timezone, jitter=jitter)


def period(trigger: BaseTrigger, now: dt.datetime) -> dt.timedelta:
    """The gap between the trigger's next two fire times: what 'one period' means here."""
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(microseconds=1))
    if first is None or second is None:
        return dt.timedelta(days=1)
    return second - first  # type: ignore[no-any-return]
