"""Operational notices about the data feed: a KOL that keeps failing, or stale data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from watcher.config import Config
from watcher.model import Notice
from watcher.route import ops_channels
from watcher.store import Store

REPEAT = dt.timedelta(hours=24)  # while a problem lasts, remind once a day


def notices(cfg: Config, newest: Mapping[str, dt.date], streaks: Mapping[str, int],
            reasons: Mapping[str, str], yesterday: dt.date) -> list[Notice]:
    """Pure: the notices the watchlist's state calls for."""
    out = []
    n = cfg.notify
    for kol in cfg.watchlist:
        failed = streaks.get(kol.user_id, 0)
        if failed >= n.failures_before_notice:
            out.append(Notice(
                f"poll:{kol.user_id}", f"Polling {kol.name} keeps failing",
                f"The last {failed} polls of {kol.name} ({kol.user_id}) failed; the latest: "
                f"{reasons.get(kol.user_id) or 'no reason recorded'}."))
        last = newest.get(kol.user_id)
        if last is not None and (yesterday - last).days >= n.stale_after_days:
            out.append(Notice(
                f"stale:{kol.user_id}", f"No new data for {kol.name}",
                f"The newest stored day of {kol.name} ({kol.user_id}) is {last}, "
                f"{(yesterday - last).days} days behind {yesterday}: its numbers are not "
                "advancing, so its anomalies cannot be seen."))
    return out


def queue_health(cfg: Config, store: Store, now: dt.datetime, yesterday: dt.date,
                 reasons: Mapping[str, str], account_ok: bool) -> list[Notice]:
    """Queue the health notices on the ops route; the ones queued (each at most daily).

    When the account itself failed, per-KOL failures say nothing new: only staleness."""
    streaks = store.poll_failure_streaks() if account_ok else {}
    queued = []
    for notice in notices(cfg, store.newest_days(), streaks, reasons, yesterday):
        if store.queue_notice(notice, ops_channels(cfg), now, REPEAT) is not None:
            queued.append(notice)
    return queued
