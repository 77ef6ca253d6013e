"""The values templates see: computed once from an Alert, formatted for people."""

from __future__ import annotations

import datetime as dt
from typing import Any

from watcher.model import Alert, Digest, Notice, Point
from watcher.render.sparkline import sparkline

PROFILE_URL = "https://www.xiaohongshu.com/user/profile/{user_id}"
SPARK_DAYS = 30


def one_line(text: str) -> str:
    """Outside text with its line breaks and runs of white space folded to single spaces."""
    return " ".join(text.split())


def signed(n: float) -> str:
    """+1,234 / -56 / 0, for increments."""
    return f"{n:+,.0f}" if n else "0"


def daily_increments(
    points: tuple[Point, ...], days: int
) -> tuple[list[int | None], list[dt.date]]:
    """The last `days` calendar days' increments; None where a day or its eve is missing."""
    if not points:
        return [], []
    by_day = {p.day: p.total for p in points}
    end = points[-1].day
    span = [end - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    incs: list[int | None] = []
    for d in span:
        today, eve = by_day.get(d), by_day.get(d - dt.timedelta(days=1))
        incs.append(today - eve if today is not None and eve is not None else None)
    return incs, span


def alert_context(alert: Alert) -> dict[str, Any]:
    """Everything a template needs about one anomaly; outside text is left raw here."""
    f = alert.finding
    incs, span = daily_increments(alert.recent, SPARK_DAYS)
    mark = span.index(f.day) if f.day in span else None
    return {
        "kind": "anomaly",
        "name": one_line(alert.kol_name),
        "user_id": one_line(alert.user_id),
        "tags": [one_line(t) for t in alert.tags],
        "profile_url": PROFILE_URL.format(user_id=alert.user_id),
        "day": f.day.isoformat(),
        "event_start": f.event_start.isoformat(),
        "event_days": (f.day - f.event_start).days + 1,
        "escalated_from": f"{alert.previous_score:.1f}" if alert.previous_score is not None
        else None,
        "direction": f.direction,
        "headline": "Follower spike" if f.direction == "spike" else "Follower drop",
        "emoji": ":chart_with_upwards_trend:" if f.direction == "spike"
        else ":chart_with_downwards_trend:",
        "increment": signed(f.increment),
        "baseline": signed(round(f.baseline)),
        "ratio": f"{f.ratio:.1f}x" if f.ratio is not None else "n/a",
        "score": f"{f.score:.1f}",
        "total": f"{f.total:,}",
        "pct_of_base": f"{f.pct_of_base:+.2f}%",
        "rule": f.rule,
        "sparkline": sparkline(incs, mark),
        "spark_days": len(incs),
    }


def notice_context(notice: Notice) -> dict[str, Any]:
    """Template values for an operational notice."""
    return {"kind": "ops", "key": notice.key, "title": one_line(notice.title),
            "detail": notice.detail}


def digest_context(digest: Digest) -> dict[str, Any]:
    """Template values for a digest: each alert's own values, in ranked order."""
    alerts = [alert_context(a) for a in digest.alerts]
    return {"kind": "digest", "route": one_line(digest.route), "count": len(alerts),
            "spikes": sum(a["direction"] == "spike" for a in alerts),
            "drops": sum(a["direction"] == "drop" for a in alerts), "alerts": alerts}
