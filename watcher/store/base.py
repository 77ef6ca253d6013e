"""The SQLite connection every store method shares: one lock, one transaction per call."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from watcher.store.schema import MIGRATIONS, VERSION


def ts(at: dt.datetime) -> str:
    """A UTC timestamp as stored: ISO 8601 to the second."""
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


class Database:
    """One SQLite file in WAL mode, migrated to the current schema when opened."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.RLock()
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._lock:
            current = self._db.execute("PRAGMA user_version").fetchone()[0]
            if current > VERSION:
                raise RuntimeError(f"{self.path} has schema {current}, newer than this "
                                   f"watcher ({VERSION}); upgrade watcher")
            for step in range(current + 1, VERSION + 1):
                # one script per step, schema and version together: a crash leaves either
                self._db.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[step]}\n"
                                       f"PRAGMA user_version = {step};\nCOMMIT;")

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
