"""`watcher history`: a KOL's stored days, increments and findings, as a table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from watcher.model import Series
from watcher.render.context import signed
from watcher.report import table


def format_history(name: str, series: Series, findings: Sequence[dict[str, Any]],
                   revisions: Sequence[tuple[dt.date, int, int, str]], days: int) -> str:
    """The last `days` stored days, newest first, each with its finding if any."""
    if not series.points:
        return f"{name} ({series.user_id}): no stored history"
    by_day = {p.day: p.total for p in series.points}
    flagged = {(dt.date.fromisoformat(f["day"])): f for f in findings}
    restated = {d: (old, new) for d, old, new, _ in revisions}
    rows = []
    for p in reversed(series.points[-days:]):
        eve = by_day.get(p.day - dt.timedelta(days=1))
        inc = signed(p.total - eve) if eve is not None else "-"
        f = flagged.get(p.day)
        note = (f"{f['direction']} (score {f['score']:.1f}; event since {f['event_start']}): "
                f"{f['rule']}") if f else ""
        if p.day in restated:
            old, _ = restated[p.day]
            note = (note + "; " if note else "") + f"restated, was {old:,}"
        rows.append((p.day.isoformat(), f"{p.total:,}", inc, note))
    head = (f"{name} ({series.user_id}): {len(series.points)} stored days, "
            f"{series.points[0].day} to {series.points[-1].day}; {len(findings)} finding(s)")
    return head + "\n" + table(("day", "total", "increment", "finding"), rows)
