"""One cycle: decide whom to call, fetch, store, detect, queue alerts, deliver."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from watcher import detect
from watcher.api.policy import Action
from watcher.clock import Clock, beijing_midnight, beijing_today, newest_complete_day
from watcher.config import Config, KolConfig
from watcher.health import queue_health
from watcher.model import Alert, Finding, Notice, Series
from watcher.notify import Notifier
from watcher.outbox import FlushReport, flush, queue_alerts
from watcher.poll import Poller, PollReport, Stop, Target
from watcher.route import ops_channels
from watcher.store import Store

log = logging.getLogger(__name__)

QUOTA_KEY = "quota_exhausted_day"
WINDOW_DAYS = {"DAY_30": 30, "DAY_90": 90}
NOTICE_REPEAT = dt.timedelta(hours=24)


@dataclass(frozen=True)
class KolResult:
    user_id: str
    name: str
    status: Literal["ok", "up to date", "late", "failed"]
    reason: str
    calls: int
    newest: dt.date | None
    findings: int = 0


@dataclass
class CycleReport:
    started: dt.datetime
    yesterday: dt.date
    kols: list[KolResult] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)  # newly queued (or, dry run, would be)
    notices: list[Notice] = field(default_factory=list)
    poll: PollReport = field(default_factory=PollReport)
    delivery: FlushReport = field(default_factory=FlushReport)

    @property
    def failed(self) -> list[KolResult]:
        return [k for k in self.kols if k.status == "failed"]

    def summary(self) -> dict[str, Any]:
        """Plain figures for the store, the log and systemd's STATUS line."""
        return {
            "kols": len(self.kols), "failed": len(self.failed),
            "up_to_date": sum(k.status == "up to date" for k in self.kols),
            "calls": self.poll.made, "succeeded": self.poll.calls.get("code 0", 0),
            "retries": self.poll.retries,
            "calls_by_code": dict(self.poll.calls), "alerts": len(self.alerts),
            "sent": len(self.delivery.sent), "delivery_failed": len(self.delivery.failed),
            "stopped": self.poll.stop.reason if self.poll.stop else None,
        }


def run_cycle(cfg: Config, store: Store, poller: Poller, notifiers: Mapping[str, Notifier],
              clock: Clock, *, dry_run: bool = False,
              only: Collection[str] | None = None) -> CycleReport:
    """Poll the watchlist (or `only` these user ids) once; see the README for each step."""
    now = clock.now()
    report = CycleReport(now, newest_complete_day(clock))
    kols = [k for k in cfg.watchlist if only is None or k.user_id in only]
    cycle_id = store.start_cycle(now)
    newest = store.newest_days()
    billed_today = store.billed_calls_since(beijing_midnight(clock))
    targets = _targets(cfg, kols, newest, report.yesterday, billed_today)
    if targets and store.get_meta(QUOTA_KEY) == beijing_today(clock).isoformat():
        report.poll = PollReport(stop=Stop(Action.QUOTA, 303, "daily quota already exhausted "
                                           "today (Asia/Shanghai); calls resume tomorrow"))
    else:
        report.poll = poller.poll(targets)
    for outcome in report.poll.outcomes.values():
        if outcome.series is not None:
            stats = store.merge(outcome.series, clock.now())
            if stats.revised:
                log.warning("%s: the API restated %d past day(s)", outcome.user_id,
                            stats.revised)
    _handle_stop(cfg, store, clock, report, dry_run)
    histories = {k.user_id: store.series(k.user_id) for k in kols}
    findings = _detect(kols, histories)
    newest = store.newest_days()
    candidates: list[Alert] = []
    for kol in kols:
        report.kols.append(_kol_result(kol, report.poll, newest.get(kol.user_id),
                                       len(findings[kol.user_id]), report.yesterday,
                                       billed_today.get(kol.user_id, 0)))
        store.save_findings(findings[kol.user_id], clock.now())
        candidates += _alerts(kol, findings[kol.user_id], histories[kol.user_id],
                              report.yesterday)
    # routed, deduplicated by event identity, escalation and per-KOL cooldown
    report.alerts += candidates if dry_run else queue_alerts(cfg, store, candidates, now)
    for k in report.kols:
        polled = report.poll.outcomes.get(k.user_id)
        store.record_poll(cycle_id, k.user_id, k.status, k.reason, k.calls,
                          polled.billed if polled else 0)
    if not dry_run:
        report.notices += queue_health(cfg, store, clock.now(), report.yesterday, newest,
                                       {k.user_id: k.reason for k in report.failed},
                                       account_ok=report.poll.stop is None)
        report.delivery = flush(store, notifiers, clock, ops_channels(cfg))
    store.finish_cycle(cycle_id, clock.now(), not report.failed, report.summary())
    return report


def _targets(cfg: Config, kols: list[KolConfig], newest: dict[str, dt.date],
             yesterday: dt.date, billed_today: dict[str, int]) -> list[Target]:
    """Only KOLs whose stored history lacks yesterday; the window just covers the gap."""
    out = []
    for kol in kols:
        last = newest.get(kol.user_id)
        if last is not None and last >= yesterday:
            continue  # every call is billed: the store already has what the API would say
        if billed_today.get(kol.user_id, 0) >= cfg.api.max_calls_per_day:
            continue  # late data or a bad payload: stop paying to ask again today
        gap = (yesterday - last).days if last else None
        wide = gap is None or gap >= WINDOW_DAYS[cfg.api.date_type]
        date_type = cfg.api.first_date_type if wide else cfg.api.date_type
        out.append(Target(kol.user_id, date_type))
    return out


def _handle_stop(cfg: Config, store: Store, clock: Clock, report: CycleReport,
                 dry_run: bool) -> None:
    stop = report.poll.stop
    if stop is None:
        return
    if stop.action is Action.QUOTA:
        today = beijing_today(clock).isoformat()
        store.set_meta(QUOTA_KEY, today)
        notice = Notice(f"quota:{today}", "Just One API daily quota exhausted",
                        f"{stop.reason}. watcher keeps what it fetched and makes no more calls "
                        "until the next day (Asia/Shanghai).")
    else:
        notice = Notice(f"account:{stop.code}", "Just One API account cannot be used",
                        f"{stop.reason}. The cycle stopped at once; check the token, "
                        "permissions and balance.")
    log.error("%s: %s", notice.title, stop.reason)
    if dry_run:
        return
    queued = store.queue_notice(notice, ops_channels(cfg), clock.now(), NOTICE_REPEAT)
    if queued is not None:
        report.notices.append(notice)


def _detect(kols: list[KolConfig], histories: dict[str, Series]) -> dict[str, list[Finding]]:
    series = [histories[k.user_id] for k in kols]
    results = detect.detect_many(series, [k.detect for k in kols]) if series else []
    return {k.user_id: r for k, r in zip(kols, results, strict=True)}


def _alerts(kol: KolConfig, findings: list[Finding], history: Series,
            yesterday: dt.date) -> list[Alert]:
    """The strongest finding (newest on a tie) of each event within the KOL's alert window:
    a cycle that catches up on several days then still sees an escalation in the middle."""
    cutoff = yesterday - dt.timedelta(days=kol.detect.alert_window_days - 1)
    latest: dict[tuple[dt.date, str], Finding] = {}
    for f in findings:
        if f.day >= cutoff and f.direction in kol.detect.directions:
            best = latest.get((f.event_start, f.direction))
            if best is None or (abs(f.score), f.day) >= (abs(best.score), best.day):
                latest[(f.event_start, f.direction)] = f
    recent = tuple(p for p in history.points if p.day > yesterday - dt.timedelta(days=32))
    return [Alert(kol.name, kol.user_id, kol.tags, f, recent) for f in latest.values()]


def _kol_result(kol: KolConfig, poll: PollReport, newest: dt.date | None, findings: int,
                yesterday: dt.date, billed_today: int) -> KolResult:
    outcome = poll.outcomes.get(kol.user_id)
    if newest is not None and newest >= yesterday and (outcome is None or outcome.ok):
        reason = outcome.reason if outcome else "history already has yesterday: no call"
        return KolResult(kol.user_id, kol.name, "ok" if outcome else "up to date", reason,
                         outcome.calls if outcome else 0, newest, findings)
    if outcome is None and poll.stop is None:
        return KolResult(kol.user_id, kol.name, "late", f"no data for {yesterday} after "
                         f"{billed_today} billed call(s) today: no more calls until tomorrow",
                         0, newest, findings)
    if outcome is None:  # a target the cycle never called (quota already spent today)
        why = poll.stop.reason if poll.stop else "not polled"
        return KolResult(kol.user_id, kol.name, "failed", why, 0, newest, findings)
    if outcome.ok:
        return KolResult(kol.user_id, kol.name, "ok", f"newest day {newest}: the API has not "
                         f"published {yesterday} yet", outcome.calls, newest, findings)
    return KolResult(kol.user_id, kol.name, "failed", outcome.reason, outcome.calls, newest,
                     findings)
