"""`watcher run`: APScheduler runs the cycle; the main thread supervises signals."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App, build_app
from watcher.config import Config, ScheduleConfig

log = logging.getLogger(__name__)

JOB_ID = "cycle"


def make_trigger(schedule: ScheduleConfig) -> BaseTrigger:
    """The APScheduler trigger for `schedule.cron` or `schedule.every`."""
    if schedule.every_s is not None:
        return IntervalTrigger(seconds=schedule.every_s, timezone=schedule.timezone)
    assert schedule.cron is not None
    return CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)


def period(trigger: BaseTrigger, now: dt.datetime) -> dt.timedelta:
    """The gap between the trigger's next two fire times: what 'one period' means here."""
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(microseconds=1))
    if first is None or second is None:
        return dt.timedelta(days=1)
    return second - first  # type: ignore[no-any-return]


class Daemon:
    """Runs cycles on schedule until SIGTERM/SIGINT; a cycle in flight is let finish."""

    def __init__(self, config_path: str, cfg: Config, *, app: App | None = None,
                 log_level: str | None = None) -> None:
        self.config_path = config_path
        self.app = app or build_app(cfg, log_level=log_level)
        self._stop = threading.Event()
        self._scheduler = BackgroundScheduler(timezone=cfg.schedule.timezone)

    def run(self) -> int:
        """Block until told to stop; return the exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        trigger = make_trigger(self.app.cfg.schedule)
        self._scheduler.add_job(self._cycle, trigger, id=JOB_ID, coalesce=True,
                                max_instances=1, misfire_grace_time=3600)
        self._scheduler.start()
        if self._overdue(trigger):
            self._scheduler.modify_job(JOB_ID, next_run_time=dt.datetime.now(dt.UTC))
        log.info("watcher running: %d KOL(s), %s", len(self.app.cfg.watchlist),
                 self.app.cfg.schedule.describe())
        self._stop.wait()
        log.info("stopping: letting the cycle in flight finish")
        self._scheduler.shutdown(wait=True)
        self.app.close()
        log.info("stopped")
        return 0

    def _overdue(self, trigger: BaseTrigger) -> bool:
        last = self.app.store.last_cycle()
        if last is None:
            return True
        now = self.app.clock.now()
        return now - dt.datetime.fromisoformat(last["finished_at"]) > period(trigger, now)

    def _cycle(self) -> None:
        try:
            report = self.app.check()
        except Exception:
            log.exception("cycle failed")
            return
        log.info("cycle done: %s", report.summary())

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self._stop.set()
