"""Turn a Just One API success body into a sound Series, or say exactly why not."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from watcher.model import Point, Series

log = logging.getLogger(__name__)


class PayloadError(ValueError):
    """The body's `data` cannot be made into a sound history."""


def parse_history(user_id: str, body: Mapping[str, Any]) -> Series:
    """Validate `body["data"]["list"]`: sort by day, drop exact duplicates and null points."""
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise PayloadError(f"data is {type(data).__name__}, not an object")
    items = data.get("list")
    if not isinstance(items, list):
        raise PayloadError(f"data.list is {type(items).__name__}, not a list")
    by_day: dict[dt.date, int] = {}
    dropped_nulls = 0
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PayloadError(f"data.list[{i}] is not an object")
        num, key = item.get("num"), item.get("dateKey")
        if num is None:
            dropped_nulls += 1
            continue
        day = _parse_day(key, i)
        total = _parse_total(num, i)
        if day in by_day and by_day[day] != total:
            raise PayloadError(
                f"data.list has two totals for {day}: {by_day[day]} and {total}"
            )
        by_day[day] = total
    if dropped_nulls:
        log.warning("%s: dropped %d point(s) with a null num", user_id, dropped_nulls)
    points = tuple(Point(day, by_day[day]) for day in sorted(by_day))
    return Series(user_id, points)


def _parse_day(key: object, i: int) -> dt.date:
    if not isinstance(key, str):
        raise PayloadError(f"data.list[{i}].dateKey is {key!r}, not a YYYY-MM-DD string")
    try:
        return dt.date.fromisoformat(key)
    except ValueError:
        raise PayloadError(f"data.list[{i}].dateKey {key!r} is not a valid date") from None


def _parse_total(num: object, i: int) -> int:
    # bool is an int subclass; a float like 12.0 from a sloppy serializer is still whole
    if isinstance(num, bool) or not isinstance(num, int | float):
        raise PayloadError(f"data.list[{i}].num is {num!r}, not an integer")
    if isinstance(num, float) and not num.is_integer():
        raise PayloadError(f"data.list[{i}].num is {num!r}, not an integer")
    if num < 0:
        raise PayloadError(f"data.list[{i}].num is {num!r}, negative")
    return int(num)
