"""Pure builders for the bodies the vendor sends: Result envelopes, history data, error pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from watcher.model import Point

# China has had no DST since 1991, so a fixed offset is exact and needs no tzdata.
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

DATE_TYPES: dict[str, int] = {"DAY_30": 30, "DAY_90": 90}
INCREASE_TYPES = ("FANS_TOTAL", "FANS_INCREASE")


def beijing_today() -> dt.date:
    """The current calendar date in Beijing."""
    return dt.datetime.now(BEIJING).date()


def record_time() -> str:
    """A recordTime like the captured one: Beijing local time, no offset, sub-second digits."""
    return dt.datetime.now(BEIJING).replace(tzinfo=None).isoformat(timespec="microseconds")


def envelope(
    code: int, message: str | None, data: Any = None, request_id: str | None = None
) -> dict[str, Any]:
    """The `Result` object; `requestId` only when given, since real responses often omit it."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "recordTime": record_time() if code == 0 else None,
        "data": data,
    }
    if request_id is not None:
        body["requestId"] = request_id
    return body


def window(points: Sequence[Point], today: dt.date, days: int) -> list[Point]:
    """Points in the `days` Beijing days ending yesterday, oldest first.

    The window is fixed to the calendar; if yesterday is not published yet the list simply
    ends earlier (and is one point shorter) rather than reaching further back.
    """
    last = today - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    by_day = {p.day: p.total for p in points}
    return [Point(d, by_day[d]) for d in sorted(by_day) if first <= d <= last]


def history_data(
    points: Sequence[Point], today: dt.date, date_type: str, increase_type: str
) -> dict[str, Any]:
    """The success `data` for one KOL.

    FANS_INCREASE lists the net change from the previous calendar day, for each day in the
    window whose previous day is known (it may lie just outside the window); the vendor's exact
    meaning is undocumented, and the client derives increments from FANS_TOTAL anyway.
    fansNumInc and fansNumIncRate are computed from the totals in both modes; with fewer than
    one point they are 0, and the rate is 0.0 when the first total is 0.
    """
    shown = window(points, today, DATE_TYPES[date_type])
    inc = shown[-1].total - shown[0].total if shown else 0
    rate = round(inc / shown[0].total, 4) if shown and shown[0].total else 0.0
    if increase_type == "FANS_TOTAL":
        items = [{"num": p.total, "dateKey": p.day.isoformat()} for p in shown]
    else:
        by_day = {p.day: p.total for p in points}
        items = [
            {"num": p.total - by_day[prev], "dateKey": p.day.isoformat()}
            for p in shown
            if (prev := p.day - dt.timedelta(days=1)) in by_day
        ]
    return {"fansNumInc": inc, "fansNumIncRate": rate, "list": items}


def phrase(status: int) -> str:
    """The standard reason phrase, or "Error" for a status Python does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def spring_error(status: int, path: str) -> dict[str, Any]:
    """Spring Boot's default error JSON, as seen for a real HTTP 400 from this endpoint."""
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": phrase(status),
        "path": path,
    }


def html_page(status: int) -> str:
    """An nginx gateway error page."""
    title = f"{status} {phrase(status)}"
    return (
        "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n"
        "<center><h1>" + title + "</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


# What an Envoy-style proxy writes when the upstream dies: plausible non-JSON with a JSON type.
GARBAGE = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
