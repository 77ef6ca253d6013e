"""Alerts to and from JSON, so the outbox can re-render them after a restart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from watcher.model import Alert, Finding, Point


def alert_to_json(alert: Alert) -> str:
    """Serialise an Alert; dates become ISO strings."""
    return json.dumps(dataclasses.asdict(alert), default=_default, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    """The inverse of alert_to_json."""
    raw = json.loads(text)
    f = raw["finding"]
    f["day"] = dt.date.fromisoformat(f["day"])
    f["event_start"] = dt.date.fromisoformat(f["event_start"])
    return Alert(
        kol_name=raw["kol_name"], user_id=raw["user_id"], tags=tuple(raw["tags"]),
        finding=Finding(**f),
        recent=tuple(Point(dt.date.fromisoformat(p["day"]), p["total"]) for p in raw["recent"]),
    )


def _default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
