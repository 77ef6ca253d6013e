"""Alerts, digests and notices to and from JSON, so the outbox can re-render them later."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from watcher.model import Alert, Digest, Finding, Notice, Point


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """An Alert as JSON-ready data; dates become ISO strings."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(alert), default=_default))
    return data


def alert_from_dict(raw: dict[str, Any]) -> Alert:
    """The inverse of alert_to_dict."""
    f = dict(raw["finding"])
    f["day"] = dt.date.fromisoformat(f["day"])
    f["event_start"] = dt.date.fromisoformat(f["event_start"])
    return Alert(
        kol_name=raw["kol_name"], user_id=raw["user_id"], tags=tuple(raw["tags"]),
        finding=Finding(**f),
        recent=tuple(Point(dt.date.fromisoformat(p["day"]), p["total"]) for p in raw["recent"]),
        previous_score=raw.get("previous_score"),
    )


def alert_to_json(alert: Alert) -> str:
    """Serialise an Alert."""
    return json.dumps(alert_to_dict(alert), ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    """The inverse of alert_to_json."""
    return alert_from_dict(json.loads(text))


def digest_to_json(digest: Digest) -> str:
    """Serialise a Digest (its alerts in their ranked order)."""
    return json.dumps({"route": digest.route,
                       "alerts": [alert_to_dict(a) for a in digest.alerts]}, ensure_ascii=False)


def digest_from_json(text: str) -> Digest:
    """The inverse of digest_to_json."""
    raw = json.loads(text)
    return Digest(raw["route"], tuple(alert_from_dict(a) for a in raw["alerts"]))


def notice_to_json(notice: Notice) -> str:
    """Serialise a Notice."""
    return json.dumps(dataclasses.asdict(notice), ensure_ascii=False)


def notice_from_json(text: str) -> Notice:
    """The inverse of notice_to_json."""
    return Notice(**json.loads(text))


def _default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
