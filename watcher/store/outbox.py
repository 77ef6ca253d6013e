"""The outbox half of the store: events (the dedup key), alerts, and per-channel deliveries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.model import Alert, Digest, Notice, rank
from watcher.store.base import Database, ts
from watcher.store.codec import (
    alert_from_json,
    alert_to_json,
    digest_from_json,
    digest_to_json,
    notice_from_json,
    notice_to_json,
)

ESCALATION = 1.5  # a continuing event alerts again once its score is this many times worse
MAX_AGE = dt.timedelta(hours=24)  # a delivery not accepted by then is 'failed'
# a daily schedule's cycle may start a few seconds earlier than yesterday's: a 24 h
# cooldown must not hold that one back
COOLDOWN_SLACK = dt.timedelta(minutes=15)
# longer than any one send can take (timeouts, a paced multi-part digest)
CLAIM_LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    channel: str
    attempts: int
    kind: str  # "anomaly" | "digest" | "ops"
    body: str
    created_at: str
    give_up_at: str
    parts_done: int = 0

    def alert(self) -> Alert:
        """The anomaly alert this delivery carries (kind == 'anomaly')."""
        return alert_from_json(self.body)

    def notice(self) -> Notice:
        """The operational notice this delivery carries (kind == 'ops')."""
        return notice_from_json(self.body)

    def item(self) -> Alert | Digest | Notice:
        """Whatever this delivery carries, decoded."""
        if self.kind == "digest":
            return digest_from_json(self.body)
        return self.alert() if self.kind == "anomaly" else self.notice()


def claim_owner() -> str:
    """A flush's identity in `claimed_by`: this process, and a token for this flush."""
    return f"{os.getpid()}:{secrets.token_hex(4)}"


def _alive(owner: str) -> bool:
    """Whether the process named in a claim still runs (this host: one SQLite file)."""
    try:
        os.kill(int(owner.partition(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True  # someone else's process, or a claim we cannot read: respect the lease
    return True


class OutboxStore(Database):
    """Queue alerts and notices for channels, claim and mark their deliveries."""

    def queue_alert(self, alert: Alert, channels: Iterable[str], now: dt.datetime, *,
                    cooldown: dt.timedelta = dt.timedelta(0),
                    escalation: float = ESCALATION) -> int | None:
        """Open or extend the alert's event and, if it should alert, queue it for every
        channel, all in one transaction.

        Returns the alert id, or None when held back: this event was already alerted and
        has not escalated, or the KOL is within its cooldown."""
        with self._tx() as db:
            admitted = self._admit(db, alert, now, cooldown, escalation)
            if admitted is None:
                return None
            alert = admitted
            f = alert.finding
            key = "/".join((f.user_id, f.event_start.isoformat(), f.direction))
            return self._enqueue(db, f.user_id, "anomaly", key, alert_to_json(alert),
                                 channels, now)

    def queue_digest(self, route: str, alerts: Sequence[Alert], channels: Iterable[str],
                     now: dt.datetime, *, cooldown: dt.timedelta = dt.timedelta(0),
                     escalation: float = ESCALATION) -> tuple[int | None, list[Alert]]:
        """Admit each alert as queue_alert would and queue the admitted ones as one digest.

        Returns the digest's id (None when nothing was admitted) and the admitted alerts."""
        with self._tx() as db:
            admitted = [a for a in (self._admit(db, x, now, cooldown, escalation)
                                    for x in alerts) if a is not None]
            if not admitted:
                return None, []
            body = digest_to_json(Digest(route, rank(admitted)))
            key = f"digest:{route}:{ts(now)}"
            return self._enqueue(db, "", "digest", key, body, channels, now), admitted

    @staticmethod
    def _admit(db: sqlite3.Connection, alert: Alert, now: dt.datetime,
               cooldown: dt.timedelta, escalation: float) -> Alert | None:
        """Record the event; the alert to send now (marked alerted, with the score it
        escalated from, if any), or None when it is held back."""
        f = alert.finding
        key = (f.user_id, f.event_start.isoformat(), f.direction)
        row = db.execute("SELECT alerted_score FROM events WHERE user_id = ? AND "
                         "event_start = ? AND direction = ?", key).fetchone()
        if row is None:
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, NULL, NULL)",
                       (*key, f.day.isoformat()))
        else:
            db.execute("UPDATE events SET last_day = MAX(last_day, ?) WHERE user_id = ? "
                       "AND event_start = ? AND direction = ?", (f.day.isoformat(), *key))
            if row[0] is not None and abs(f.score) < escalation * abs(row[0]):
                return None  # the same event, not markedly worse: said already
        (last,) = db.execute("SELECT MAX(alerted_at) FROM events WHERE user_id = ?",
                             (f.user_id,)).fetchone()
        if last is not None and now - dt.datetime.fromisoformat(last) < \
                cooldown - COOLDOWN_SLACK:
            return None  # held, not lost: a later cycle within the alert window sends it
        db.execute("UPDATE events SET alerted_score = ?, alerted_at = ? WHERE user_id = ? "
                   "AND event_start = ? AND direction = ?", (f.score, ts(now), *key))
        previous = row[0] if row is not None else None
        return dataclasses.replace(alert, previous_score=previous)

    def queue_notice(self, notice: Notice, channels: Iterable[str], now: dt.datetime,
                     repeat_after: dt.timedelta) -> int | None:
        """Queue an operational notice, unless the same key was queued within `repeat_after`."""
        with self._tx() as db:
            recent = db.execute("SELECT 1 FROM alerts WHERE dedup_key = ? AND created_at > ?",
                                (notice.key, ts(now - repeat_after))).fetchone()
            if recent:
                return None
            return self._enqueue(db, "", "ops", notice.key, notice_to_json(notice), channels,
                                 now)

    @staticmethod
    def _enqueue(db: sqlite3.Connection, user_id: str, kind: str, dedup_key: str, body: str,
                 channels: Iterable[str], now: dt.datetime) -> int:
        cur = db.execute("INSERT INTO alerts (user_id, kind, dedup_key, body, created_at) "
                         "VALUES (?, ?, ?, ?, ?)", (user_id, kind, dedup_key, body, ts(now)))
        alert_id = cur.lastrowid
        assert alert_id is not None
        db.executemany("INSERT INTO deliveries (alert_id, channel, next_attempt_at, give_up_at) "
                       "VALUES (?, ?, ?, ?)",
                       [(alert_id, ch, ts(now), ts(now + MAX_AGE)) for ch in dict.fromkeys(
                           channels)])
        return alert_id

    def due_deliveries(self, now: dt.datetime) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.id, d.alert_id, d.channel, d.attempts, a.kind, a.body, a.created_at, "
                "d.give_up_at, d.parts_done "
                "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                "WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.id",
                (ts(now),)).fetchall()
        return [Delivery(*row) for row in rows]

    def claim(self, delivery_id: int, owner: str, now: dt.datetime,
              lease: dt.timedelta = CLAIM_LEASE) -> Delivery | None:
        """Take a due delivery for sending, fresh from the file; None when it is no longer
        due or another live flush holds it. A claim by a process that died is void."""
        with self._tx() as db:
            row = db.execute("SELECT claimed_by, claimed_until FROM deliveries WHERE id = ? "
                             "AND status = 'pending' AND next_attempt_at <= ?",
                             (delivery_id, ts(now))).fetchone()
            if row is None:
                return None
            holder, until = row
            if holder and holder != owner and until > ts(now) and _alive(holder):
                return None
            db.execute("UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                       (owner, ts(now + lease), delivery_id))
            fresh = db.execute(
                "SELECT d.id, d.alert_id, d.channel, d.attempts, a.kind, a.body, a.created_at, "
                "d.give_up_at, d.parts_done FROM deliveries d "
                "JOIN alerts a ON a.id = d.alert_id WHERE d.id = ?", (delivery_id,)).fetchone()
        return Delivery(*fresh)

    def deliveries(self, status: str | Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every delivery row (optionally of these statuses), for `watcher outbox` and tests."""
        sql = ("SELECT d.id, d.alert_id, d.channel, d.status, d.attempts, d.last_error, "
               "d.next_attempt_at, d.give_up_at, d.sent_at, d.parts_done, a.kind, a.user_id, "
               "a.dedup_key, a.created_at FROM deliveries d JOIN alerts a ON a.id = d.alert_id")
        wanted = (status,) if isinstance(status, str) else tuple(status or ())
        if wanted:
            sql += f" WHERE d.status IN ({', '.join('?' * len(wanted))})"
        with self._lock:
            cur = self._db.execute(sql + " ORDER BY d.id", wanted)
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def mark_sent(self, delivery_id: int, now: dt.datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET status = 'sent', sent_at = ?, "
                       "attempts = attempts + 1, last_error = NULL, claimed_by = NULL, "
                       "claimed_until = NULL WHERE id = ?",
                       (ts(now), delivery_id))

    def mark_retry(self, delivery_id: int, error: str, next_at: dt.datetime,
                   parts_done: int | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                       "next_attempt_at = ?, parts_done = COALESCE(?, parts_done), "
                       "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                       (error, ts(next_at), parts_done, delivery_id))

    def mark_failed(self, delivery_id: int, error: str, parts_done: int | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET status = 'failed', attempts = attempts + 1, "
                       "last_error = ?, parts_done = COALESCE(?, parts_done), "
                       "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                       (error, parts_done, delivery_id))

    def retry_all(self, now: dt.datetime) -> int:
        """Make every pending or failed delivery due now, with a fresh age limit."""
        with self._tx() as db:
            cur = db.execute("UPDATE deliveries SET status = 'pending', next_attempt_at = ?, "
                             "give_up_at = ? WHERE status IN ('pending', 'failed')",
                             (ts(now), ts(now + MAX_AGE)))
            return cur.rowcount
