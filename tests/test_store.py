"""The SQLite store: merging windows, revisions, persistence, dedup and the outbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from watcher.model import Point, Series
from watcher.render.sample import sample_alert
from watcher.store import Store

T = dt.datetime(2025, 12, 8, 2, tzinfo=dt.UTC)
D = dt.date(2025, 12, 1)


def _series(start: int, totals: list[int]) -> Series:
    return Series("u", tuple(Point(D + dt.timedelta(days=start + i), t)
                             for i, t in enumerate(totals)))


def test_overlapping_windows_merge_and_restatements_are_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.merge(_series(0, [10, 11, 12]), T).added == 3
    stats = store.merge(_series(1, [11, 15, 13]), T)
    assert (stats.added, stats.revised) == (1, 1)
    assert [p.total for p in store.series("u").points] == [10, 11, 15, 13]
    assert store.revisions("u") == [(D + dt.timedelta(days=2), 12, 15, T.isoformat())]


def test_history_survives_reopen(tmp_path: Path) -> None:
    Store(tmp_path / "w.db").merge(_series(0, [1, 2]), T)
    again = Store(tmp_path / "w.db")
    assert again.newest_days() == {"u": D + dt.timedelta(days=1)}


def test_an_event_is_queued_once_per_channel(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    alert = sample_alert()
    assert store.queue_alert(alert, ["a", "b"], T) is not None
    assert store.queue_alert(alert, ["a", "b"], T) is None
    rows = store.deliveries()
    assert [(r["channel"], r["status"]) for r in rows] == [("a", "pending"), ("b", "pending")]
    store.mark_sent(rows[0]["id"], T)
    assert [d.channel for d in store.due_deliveries(T)] == ["b"]
    assert store.due_deliveries(T)[0].alert() == alert  # survives the JSON round trip


def test_old_poll_rows_are_pruned_and_streaks_are_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    for day in range(40):
        at = T + dt.timedelta(days=day)
        cycle = store.start_cycle(at)
        store.record_poll(cycle, "u", "failed", "x", 1, 0)
        store.finish_cycle(cycle, at, False, {})
    assert store.poll_failure_streaks(5) == {"u": 5}  # counted only as far as asked
    # rows from cycles that started more than 30 days before the last one are gone
    assert store.poll_failure_streaks(100) == {"u": 31}
