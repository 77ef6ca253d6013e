"""The SQLite schema. Bump VERSION and add a step to MIGRATIONS for every change."""

VERSION = 2

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE totals (
        user_id TEXT NOT NULL, day TEXT NOT NULL, total INTEGER NOT NULL,
        first_seen TEXT NOT NULL, updated TEXT NOT NULL,
        PRIMARY KEY (user_id, day)
    ) WITHOUT ROWID;
    -- the API sometimes restates a past day's total: keep the new one, remember the old
    CREATE TABLE revisions (
        user_id TEXT NOT NULL, day TEXT NOT NULL,
        old_total INTEGER NOT NULL, new_total INTEGER NOT NULL, seen_at TEXT NOT NULL
    );
    CREATE TABLE findings (
        user_id TEXT NOT NULL, day TEXT NOT NULL, direction TEXT NOT NULL,
        event_start TEXT NOT NULL, increment INTEGER NOT NULL, baseline REAL NOT NULL,
        score REAL NOT NULL, ratio REAL, total INTEGER NOT NULL, pct_of_base REAL NOT NULL,
        rule TEXT NOT NULL, found_at TEXT NOT NULL,
        PRIMARY KEY (user_id, day, direction)
    ) WITHOUT ROWID;
    -- one row per anomaly identity (user_id, event_start, direction): the dedup key
    CREATE TABLE events (
        user_id TEXT NOT NULL, event_start TEXT NOT NULL, direction TEXT NOT NULL,
        last_day TEXT NOT NULL, alerted_score REAL, alerted_at TEXT,
        PRIMARY KEY (user_id, event_start, direction)
    ) WITHOUT ROWID;
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL,
        dedup_key TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL
    );
    CREATE INDEX alerts_dedup ON alerts (dedup_key, created_at);
    -- the outbox: one row per (alert, channel); 'sent' only once the receiver accepted it.
    -- parts_done: messages of a split Slack digest already accepted, never posted again;
    -- claimed_by ("pid:token") / claimed_until: the flush sending it now, so that another
    -- process does not send it too
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts(id),
        channel TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        next_attempt_at TEXT NOT NULL, give_up_at TEXT NOT NULL, sent_at TEXT,
        parts_done INTEGER NOT NULL DEFAULT 0, claimed_by TEXT, claimed_until TEXT,
        UNIQUE (alert_id, channel)
    );
    CREATE INDEX deliveries_pending ON deliveries (status, next_attempt_at);
    CREATE TABLE cycles (
        id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
        ok INTEGER, summary TEXT
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE polls (
        cycle_id INTEGER NOT NULL REFERENCES cycles(id), user_id TEXT NOT NULL,
        status TEXT NOT NULL, reason TEXT, calls INTEGER NOT NULL,
        PRIMARY KEY (cycle_id, user_id)
    );
    """,
    # the daily call cap counts billed calls (a bad payload is billed too), not good polls
    2: """
    ALTER TABLE polls ADD COLUMN billed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX polls_user ON polls (user_id, cycle_id);
    """,
}
