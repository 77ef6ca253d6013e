"""Operational notices about the data feed: KOLs that keep failing, or whose data is stale."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from watcher.config import Config
from watcher.model import Notice
from watcher.route import ops_channels
from watcher.store import Store

REPEAT = dt.timedelta(hours=24)  # while a problem lasts, remind once a day
MAX_LISTED = 40  # KOLs named in one notice; the rest are counted


def notices(cfg: Config, newest: Mapping[str, dt.date], streaks: Mapping[str, int],
            reasons: Mapping[str, str], yesterday: dt.date) -> list[Notice]:
    """Pure: at most one notice for failing KOLs and one for stale ones, each naming them
    all, so an outage is one message rather than one per KOL."""
    n = cfg.notify
    failing, stale = [], []
    for kol in cfg.watchlist:
        failed = streaks.get(kol.user_id, 0)
        if failed >= n.failures_before_notice:
            why = reasons.get(kol.user_id) or "no reason recorded"
            failing.append((kol.user_id, f"The last {failed} polls of {kol.name} "
                                         f"({kol.user_id}) failed; the latest: {why}."))
        last = newest.get(kol.user_id)
        if last is not None and (yesterday - last).days >= n.stale_after_days:
            stale.append((kol.user_id, f"The newest stored day of {kol.name} ({kol.user_id}) "
                                       f"is {last}, {(yesterday - last).days} days behind "
                                       f"{yesterday}."))
    names = {k.user_id: k.name for k in cfg.watchlist}
    out = []
    if failing:
        out.append(_notice("poll", failing, names, "Polling {} keeps failing", ""))
    if stale:
        out.append(_notice("stale", stale, names, "No new data for {}",
                           "Numbers that do not advance hide their anomalies."))
    return out


def _notice(kind: str, items: list[tuple[str, str]], names: Mapping[str, str], title: str,
            footer: str) -> Notice:
    ids = sorted(uid for uid, _ in items)
    # the key names the set: the same KOLs remind daily, a newly affected one tells at once
    key = f"{kind}:{ids[0]}" if len(ids) == 1 else \
        f"{kind}:{len(ids)}:{hashlib.sha1(','.join(ids).encode()).hexdigest()[:12]}"
    who = names.get(ids[0], ids[0]) if len(ids) == 1 else f"{len(ids)} KOLs"
    lines = [line for _, line in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"... and {len(items) - MAX_LISTED} more.")
    return Notice(key, title.format(who), "\n".join(lines + ([footer] if footer else [])))


def queue_health(cfg: Config, store: Store, now: dt.datetime, yesterday: dt.date,
                 newest: Mapping[str, dt.date], reasons: Mapping[str, str],
                 account_ok: bool) -> list[Notice]:
    """Queue the health notices on the ops route; the ones queued (each at most daily).

    When the account itself failed, per-KOL failures say nothing new: only staleness."""
    limit = cfg.notify.failures_before_notice
    streaks = store.poll_failure_streaks(limit) if account_ok else {}
    queued = []
    for notice in notices(cfg, newest, streaks, reasons, yesterday):
        if store.queue_notice(notice, ops_channels(cfg), now, REPEAT) is not None:
            queued.append(notice)
    return queued
