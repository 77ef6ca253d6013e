"""Deliver what the store's outbox holds: each (alert, channel) until accepted, then 'sent'."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from watcher import route
from watcher.clock import Clock
from watcher.config import Config
from watcher.model import Alert, Notice, rank
from watcher.notify import DeliveryError, Notifier
from watcher.store import Delivery, Store, claim_owner

log = logging.getLogger(__name__)

FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)
NOTICE_REPEAT = dt.timedelta(hours=24)  # one "cannot deliver to X" notice a day per channel
FAILURE_KEY = "delivery:"


@dataclass
class FlushReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    answers: dict[int, str] = field(default_factory=dict)  # delivery id -> receiver's answer


def queue_alerts(cfg: Config, store: Store, alerts: Sequence[Alert],
                 now: dt.datetime) -> list[Alert]:
    """Queue a cycle's alerts on their routes (one digest per `group: digest` route); the
    ones actually queued, strongest first: the rest were alerted before or are held back."""
    queued: list[Alert] = []
    cooldown, escalation = route.cooldown(cfg), cfg.notify.escalation
    for batch in route.batches(cfg, alerts):
        r = batch.route
        if r.group == "digest":
            queued += store.queue_digest(r.name, batch.alerts, r.channels, now,
                                         cooldown=cooldown, escalation=escalation)[1]
            continue
        for alert in batch.alerts:
            if store.queue_alert(alert, r.channels, now, cooldown=cooldown,
                                 escalation=escalation) is not None:
                queued.append(alert)
    return list(rank(queued))


def flush(store: Store, notifiers: Mapping[str, Notifier], clock: Clock,
          ops_channels: Sequence[str] | None = None) -> FlushReport:
    """Try every due delivery once; a failure on one channel never blocks another.

    A delivery that fails for good is reported to `ops_channels` (default: every channel)
    other than the one that failed, and that notice is sent in the same flush."""
    report = FlushReport()
    ops = list(notifiers) if ops_channels is None else list(ops_channels)
    owner = claim_owner()
    for _ in range(2):  # the second pass sends the notices the first one queued
        given_up = []
        for due in store.due_deliveries(clock.now()):
            # claimed one at a time, fresh: another process may be flushing this file too
            d = store.claim(due.id, owner, clock.now())
            if d is not None:
                given_up.append(_deliver(store, d, notifiers, clock, report))
        # a list, not any(generator): every failure gets reported, not just the first
        reported = [_report_failure(store, d, why, ops, clock)
                    for d, why in (g for g in given_up if g is not None)]
        if not any(reported):
            break
    return report


def _deliver(store: Store, d: Delivery, notifiers: Mapping[str, Notifier], clock: Clock,
             report: FlushReport) -> tuple[Delivery, str] | None:
    """Send one delivery; (delivery, reason) when it has just failed for good."""
    label = f"{d.kind} {d.alert_id} -> {d.channel}"
    notifier = notifiers.get(d.channel)
    if notifier is None:
        why = f"channel {d.channel!r} is no longer configured"
        store.mark_failed(d.id, why)
        report.failed.append(f"{label}: {why}")
        return d, why
    try:
        answer = notifier.send(d.item(), skip_parts=d.parts_done)
    except DeliveryError as exc:
        return _failed(store, d, exc, clock, report, label)
    except Exception as exc:  # a broken user template, say: retried, so a fix lets it through
        log.exception("%s: could not be sent", label)
        err = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
        return _failed(store, d, err, clock, report, label)
    store.mark_sent(d.id, clock.now())
    log.info("%s: %s", label, answer)
    report.sent.append(label)
    report.answers[d.id] = answer
    return None


def _failed(store: Store, d: Delivery, exc: DeliveryError, clock: Clock,
            report: FlushReport, label: str) -> tuple[Delivery, str] | None:
    now = clock.now()
    report.answers[d.id] = str(exc)
    if exc.permanent or now >= dt.datetime.fromisoformat(d.give_up_at):
        why = str(exc) if exc.permanent else f"gave up after {d.attempts + 1} attempts: {exc}"
        store.mark_failed(d.id, why, exc.parts_done)
        log.error("%s failed for good: %s", label, why)
        report.failed.append(f"{label}: {why}")
        return d, why
    delay = min(MAX_RETRY, FIRST_RETRY * 2 ** d.attempts)
    if exc.retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=exc.retry_after))
    store.mark_retry(d.id, str(exc), now + delay, exc.parts_done)
    log.warning("%s will be retried in %s: %s", label, delay, exc)
    report.retrying.append(f"{label}: {exc}")
    return None


def _report_failure(store: Store, d: Delivery, why: str, ops: Sequence[str],
                    clock: Clock) -> bool:
    """Queue a notice that `d` failed for good; True if one was queued."""
    if d.kind == "ops" and d.notice().key.startswith(FAILURE_KEY):
        return False  # a notice about a failed notice would never end
    targets = [c for c in ops if c != d.channel]
    if not targets:
        log.error("no other channel to report that %s failed: %s", d.channel, why)
        return False
    notice = Notice(f"{FAILURE_KEY}{d.channel}", f"Alerts cannot be delivered to {d.channel}",
                    f"A {d.kind} message to channel {d.channel} failed for good: {why}. "
                    "`watcher outbox` lists what is undelivered; `watcher outbox --retry` "
                    "sends it again once the channel is fixed.")
    return store.queue_notice(notice, targets, clock.now(), NOTICE_REPEAT) is not None
