"""Deliver what the store's outbox holds: each (alert, channel) until accepted, then 'sent'."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from watcher.clock import Clock
from watcher.model import Alert, Notice
from watcher.notify import DeliveryError, Notifier
from watcher.store import Delivery, Store

log = logging.getLogger(__name__)

MAX_AGE = dt.timedelta(hours=24)  # past this a transient failure becomes 'failed'
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)


@dataclass
class FlushReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def flush(store: Store, notifiers: Mapping[str, Notifier], clock: Clock) -> FlushReport:
    """Try every due delivery once; a failure on one channel never blocks another."""
    report = FlushReport()
    for d in store.due_deliveries(clock.now()):
        label = f"alert {d.alert_id} -> {d.channel}"
        notifier = notifiers.get(d.channel)
        if notifier is None:
            store.mark_failed(d.id, f"channel {d.channel!r} is no longer configured")
            report.failed.append(f"{label}: channel no longer configured")
            continue
        try:
            answer = notifier.send(_item(d))
        except DeliveryError as exc:
            _failed(store, d, exc, clock, report, label)
            continue
        store.mark_sent(d.id, clock.now())
        log.info("%s: %s", label, answer)
        report.sent.append(label)
    return report


def _item(d: Delivery) -> Alert | Notice:
    return d.alert() if d.kind == "anomaly" else d.notice()


def _failed(store: Store, d: Delivery, exc: DeliveryError, clock: Clock,
            report: FlushReport, label: str) -> None:
    now = clock.now()
    created = dt.datetime.fromisoformat(d.created_at)
    if exc.permanent or now - created >= MAX_AGE:
        store.mark_failed(d.id, str(exc))
        log.error("%s failed for good: %s", label, exc)
        report.failed.append(f"{label}: {exc}")
        return
    delay = min(MAX_RETRY, FIRST_RETRY * 2 ** d.attempts)
    if exc.retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=exc.retry_after))
    store.mark_retry(d.id, str(exc), now + delay)
    log.warning("%s will be retried in %s: %s", label, delay, exc)
    report.retrying.append(f"{label}: {exc}")
