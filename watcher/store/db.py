"""The SQLite store: follower history, findings and cycle records (the outbox is inherited)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watcher.model import Finding, Point, Series
from watcher.store.base import ts
from watcher.store.outbox import OutboxStore

POLL_RETENTION = dt.timedelta(days=30)  # per-KOL poll rows kept for health checks and caps


@dataclass(frozen=True)
class MergeStats:
    added: int
    revised: int


class Store(OutboxStore):
    """One SQLite file; every method is its own transaction, safe to call from any thread."""

    # history ----------------------------------------------------------------------------------

    def merge(self, series: Series, seen_at: dt.datetime) -> MergeStats:
        """Add new days; a restated day keeps the new total and records a revision."""
        now = ts(seen_at)
        added = revised = 0
        with self._tx() as db:
            known = dict(db.execute("SELECT day, total FROM totals WHERE user_id = ?",
                                    (series.user_id,)).fetchall())
            for p in series.points:
                day = p.day.isoformat()
                old = known.get(day)
                if old is None:
                    db.execute("INSERT INTO totals VALUES (?, ?, ?, ?, ?)",
                               (series.user_id, day, p.total, now, now))
                    added += 1
                elif old != p.total:
                    db.execute("UPDATE totals SET total = ?, updated = ? "
                               "WHERE user_id = ? AND day = ?",
                               (p.total, now, series.user_id, day))
                    db.execute("INSERT INTO revisions VALUES (?, ?, ?, ?, ?)",
                               (series.user_id, day, old, p.total, now))
                    revised += 1
        return MergeStats(added, revised)

    def series(self, user_id: str) -> Series:
        """Every stored day of one KOL, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT day, total FROM totals WHERE user_id = ? "
                                    "ORDER BY day", (user_id,)).fetchall()
        return Series(user_id, tuple(Point(dt.date.fromisoformat(d), t) for d, t in rows))

    def newest_days(self) -> dict[str, dt.date]:
        """Each KOL's newest stored day."""
        with self._lock:
            rows = self._db.execute("SELECT user_id, MAX(day) FROM totals GROUP BY user_id")
            return {u: dt.date.fromisoformat(d) for u, d in rows.fetchall()}

    def revisions(self, user_id: str) -> list[tuple[dt.date, int, int, str]]:
        """(day, old total, new total, seen at) for every restated day of one KOL."""
        with self._lock:
            rows = self._db.execute("SELECT day, old_total, new_total, seen_at FROM revisions "
                                    "WHERE user_id = ? ORDER BY rowid", (user_id,)).fetchall()
        return [(dt.date.fromisoformat(d), o, n, s) for d, o, n, s in rows]

    # findings and alerts ---------------------------------------------------------------------

    def save_findings(self, findings: Iterable[Finding], found_at: dt.datetime) -> None:
        """Keep every finding, alerted or not, for history and backtests."""
        now = ts(found_at)
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(f.user_id, f.day.isoformat(), f.direction, f.event_start.isoformat(),
                  f.increment, f.baseline, f.score, f.ratio, f.total, f.pct_of_base, f.rule,
                  now) for f in findings])

    def findings(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Stored findings as plain rows, newest first."""
        sql = "SELECT * FROM findings" + (" WHERE user_id = ?" if user_id else "")
        with self._lock:
            cur = self._db.execute(sql + " ORDER BY day DESC", (user_id,) if user_id else ())
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def poll_failure_streaks(self, limit: int) -> dict[str, int]:
        """Per KOL, how many of its newest recorded polls in a row failed (0 if the last
        did not), counted up to `limit`: past that the answer is the same."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, status FROM (SELECT user_id, status, cycle_id, ROW_NUMBER() "
                "OVER (PARTITION BY user_id ORDER BY cycle_id DESC) AS n FROM polls) "
                "WHERE n <= ? ORDER BY user_id, cycle_id DESC", (limit,)).fetchall()
        streaks: dict[str, int] = {}
        broken: set[str] = set()
        for user_id, status in rows:
            streaks.setdefault(user_id, 0)
            if user_id in broken:
                continue
            if status == "failed":
                streaks[user_id] += 1
            else:
                broken.add(user_id)
        return streaks

    # cycles ------------------------------------------------------------------------------------

    def start_cycle(self, now: dt.datetime) -> int:
        with self._tx() as db:
            cycle_id = db.execute("INSERT INTO cycles (started_at) VALUES (?)",
                                  (ts(now),)).lastrowid
        assert cycle_id is not None
        return cycle_id

    def record_poll(self, cycle_id: int, user_id: str, status: str, reason: str,
                    calls: int, billed: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO polls (cycle_id, user_id, status, reason, calls, "
                       "billed) VALUES (?, ?, ?, ?, ?, ?)",
                       (cycle_id, user_id, status, reason, calls, billed))

    def billed_calls_since(self, since: dt.datetime) -> dict[str, int]:
        """Per KOL, the calls since `since` that the vendor may have charged for."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.user_id, SUM(p.billed) FROM polls p JOIN cycles c ON c.id = p.cycle_id"
                " WHERE c.started_at >= ? GROUP BY p.user_id HAVING SUM(p.billed) > 0",
                (ts(since),)).fetchall()
        return dict(rows)

    def finish_cycle(self, cycle_id: int, now: dt.datetime, ok: bool,
                     summary: dict[str, Any]) -> None:
        """Record the cycle's end, and forget per-KOL poll rows past POLL_RETENTION."""
        with self._tx() as db:
            db.execute("UPDATE cycles SET finished_at = ?, ok = ?, summary = ? WHERE id = ?",
                       (ts(now), int(ok), json.dumps(summary), cycle_id))
            # a 30 s schedule would otherwise add a row per KOL per cycle forever
            db.execute("DELETE FROM polls WHERE cycle_id IN (SELECT id FROM cycles "
                       "WHERE started_at < ?)", (ts(now - POLL_RETENTION),))

    def last_cycle(self) -> dict[str, Any] | None:
        """The newest finished cycle: started_at, finished_at, ok, summary."""
        with self._lock:
            row = self._db.execute("SELECT started_at, finished_at, ok, summary FROM cycles "
                                   "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
                                   ).fetchone()
        if row is None:
            return None
        return {"started_at": row[0], "finished_at": row[1], "ok": bool(row[2]),
                "summary": json.loads(row[3] or "{}")}
