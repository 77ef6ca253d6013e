"""`watcher run`: APScheduler runs cycles; the main thread handles signals, reloads, systemd."""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Collection, Mapping
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger

from watcher.app import App, build_app
from watcher.config import Config, ConfigError, load_config
from watcher.config.secrets_check import check_config_file
from watcher.cycle import CycleReport
from watcher.schedule import make_trigger, period
from watcher.sdnotify import SystemdNotifier, watchdog_interval

log = logging.getLogger(__name__)

JOB_ID = "cycle"
FOLLOW_UP_JOB_ID = "follow-up"
MISFIRE_GRACE_S = 3600  # a run missed by less (suspend, a slow start) still happens
FOLLOW_UP_DELAY = dt.timedelta(hours=1)  # when yesterday was not published yet
STUCK_CYCLE_S = 6 * 3600.0  # a cycle running longer is hung: stop feeding the watchdog
IDLE_TICK_S = 5.0  # the main loop wakes at least this often to check health
RELOAD_RETRY_S = 0.2  # how often a pending reload tries to get between cycles
OUTBOX_JOB_ID = "outbox"
OUTBOX_EVERY_S = 300  # how often due deliveries are retried between cycles
EXIT_OK, EXIT_FORCED = 0, 1
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def status_line(report: CycleReport, timezone: str) -> str:
    """The last cycle in one short line, for systemd's STATUS= and the log."""
    s = report.summary()
    at = report.started.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")
    parts = [f"last cycle {at}: {s.get('kols', 0)} KOL(s)", f"{s.get('failed', 0)} failed",
             f"{s.get('calls', 0)} call(s)", f"{s.get('alerts', 0)} alert(s)",
             f"{s.get('sent', 0)} sent"]
    if s.get("delivery_failed"):
        parts.append(f"{s['delivery_failed']} delivery failure(s)")
    if s.get("stopped"):
        parts.append(f"stopped: {s['stopped']}")
    return ", ".join(parts)


def unpublished(report: CycleReport) -> list[str]:
    """KOLs the API answered for without yesterday: the vendor has not published it yet."""
    return [k.user_id for k in report.kols
            if k.status == "ok" and k.newest is not None and k.newest < report.yesterday]


class Daemon:
    """Runs cycles on schedule; SIGHUP reloads, SIGTERM/SIGINT stop after the cycle in flight."""

    def __init__(self, config_path: str, cfg: Config, *, app: App | None = None,
                 log_level: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.config_path = config_path
        self.log_level = log_level
        self.app = app or build_app(cfg, log_level=log_level)
        self._env = os.environ if env is None else env
        self._sd = SystemdNotifier(self._env)
        self._scheduler = BackgroundScheduler(timezone=cfg.schedule.timezone)
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()  # reentrant put()
        self._cycle_lock = threading.Lock()  # a reload swaps the App only between cycles
        self._cycle_started: float | None = None
        self._pending: Config | None = None
        self._stopping = False
        self._last_cycle: str | None = None  # the last cycle's status line

    # --- the main thread ---------------------------------------------------------------

    def run(self) -> int:
        """Block until told to stop; return the exit code."""
        for sig in (*_STOP_SIGNALS, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self._schedule(self.app.cfg)
        self._scheduler.start()
        log.info("watcher running: %d KOL(s), %s", len(self.app.cfg.watchlist),
                 self._describe(self.app.cfg))
        self._sd.ready(self._waiting_status())
        interval = watchdog_interval(self._env)
        next_ping = time.monotonic()
        reported_unhealthy = False
        while True:
            if interval is not None and time.monotonic() >= next_ping:
                next_ping = time.monotonic() + interval
                if self.healthy():
                    self._sd.watchdog()
                    reported_unhealthy = False
                elif not reported_unhealthy:  # systemd will restart us at WatchdogSec
                    log.error("scheduler unhealthy: no more watchdog pings")
                    reported_unhealthy = True
            timeout = IDLE_TICK_S if interval is None else \
                max(0.0, min(IDLE_TICK_S, next_ping - time.monotonic()))
            if self._pending is not None:
                timeout = min(timeout, RELOAD_RETRY_S)
            try:
                signum = self._signals.get(timeout=timeout)
            except queue.Empty:
                signum = None
            if signum in _STOP_SIGNALS:
                assert signum is not None
                return self._stop(signal.Signals(signum).name, interval)
            if signum == signal.SIGHUP:
                self._begin_reload()
            if self._pending is not None:
                self._try_apply()

    def healthy(self) -> bool:
        """The scheduler thread runs and no cycle has hung past STUCK_CYCLE_S."""
        if self._scheduler.state != STATE_RUNNING:
            return False
        thread = getattr(self._scheduler, "_thread", None)  # BackgroundScheduler's own
        if thread is not None and not thread.is_alive():
            return False
        return not self._stuck()

    def _stuck(self) -> bool:
        started = self._cycle_started
        return started is not None and time.monotonic() - started >= STUCK_CYCLE_S

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping and signum in _STOP_SIGNALS:
            # a second stop request while the cycle finishes: the user insists; SQLite rolls
            # back whatever transaction this cuts short
            os.write(2, b"watcher: second stop signal: exiting without waiting\n")
            os._exit(EXIT_FORCED)
        self._signals.put(signum)  # the main loop acts; a handler must not take locks

    def _stop(self, name: str, interval: float | None) -> int:
        self._stopping = True
        log.info("received %s: stopping after the KOL in flight", name)
        self._sd.stopping()
        self.app.poller.stopping.set()  # the cycle in flight starts no further KOL
        waiter = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True},
                                  name="watcher-stop")
        waiter.start()
        # keep feeding the watchdog while the cycle in flight finishes: it may take longer
        # than WatchdogSec, and systemd may still be watching a stopping service
        while waiter.is_alive():
            waiter.join(timeout=interval if interval is not None else IDLE_TICK_S)
            if interval is not None and waiter.is_alive() and not self._stuck():
                self._sd.watchdog()
        with self._cycle_lock:
            try:
                self.app.flush()
            except Exception:
                log.exception("flushing the outbox at stop failed")
            self.app.close()
        log.info("stopped")
        return EXIT_OK

    # --- reload ------------------------------------------------------------------------

    def _begin_reload(self) -> None:
        """Validate the file now; a valid config waits for the cycle in flight to end."""
        self._sd.reloading()
        log.info("received SIGHUP: reloading %s", self.config_path)
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload: %s: %s", exc.path, problem)
            log.error("reload rejected (%d problem(s)): still running on the previous config",
                      len(exc.problems))
            self._pending = None
            self._sd.ready(f"reload rejected: {len(exc.problems)} problem(s) in "
                           f"{self.config_path}; {self._waiting_status()}")
            return
        for warning in (*check_config_file(self.config_path), *cfg.warnings):
            log.warning("%s", warning)
        self._pending = cfg

    def _try_apply(self) -> None:
        if not self._cycle_lock.acquire(blocking=False):
            return  # a cycle is running: try again on the next tick
        try:
            cfg, self._pending = self._pending, None
            assert cfg is not None
            try:
                app = build_app(cfg, log_level=self.log_level)
            except Exception:
                log.exception("reload: cannot set up the new config: keeping the previous one")
                self._sd.ready(self._waiting_status())
                return
            old, self.app = self.app, app
            old.close()
            self._schedule(cfg)
        finally:
            self._cycle_lock.release()
        log.info("reloaded: %d KOL(s), %s", len(cfg.watchlist), self._describe(cfg))
        self._sd.ready(self._waiting_status())

    # --- jobs --------------------------------------------------------------------------

    def _schedule(self, cfg: Config) -> None:
        """(Re)build the cycle job from the config; overdue means run it now (catch-up)."""
        trigger = make_trigger(cfg.schedule)
        overdue = self._overdue(make_trigger(cfg.schedule, jitter=False))
        extra = {"next_run_time": dt.datetime.now(dt.UTC)} if overdue else {}
        if overdue:
            log.info("the last cycle is more than one period old: running one now")
        self._scheduler.add_job(self._run_cycle, trigger, id=JOB_ID, name="poll cycle",
                                replace_existing=True, coalesce=True, max_instances=1,
                                misfire_grace_time=MISFIRE_GRACE_S, **extra)
        # failed deliveries wait for their backoff, not for the next (maybe daily) cycle;
        # the first run is now, so what a restart left pending goes out at start
        self._scheduler.add_job(self._flush_outbox, "interval", seconds=OUTBOX_EVERY_S,
                                id=OUTBOX_JOB_ID, name="outbox", replace_existing=True,
                                coalesce=True, max_instances=1,
                                next_run_time=dt.datetime.now(dt.UTC))

    def _overdue(self, trigger: BaseTrigger) -> bool:
        last = self.app.store.last_cycle()
        if last is None:
            return True
        now = self.app.clock.now()
        return now - dt.datetime.fromisoformat(last["finished_at"]) > period(trigger, now)

    def _run_cycle(self, only: Collection[str] | None = None) -> CycleReport | None:
        """One cycle (or a follow-up for `only` these KOLs), never two at once."""
        with self._cycle_lock:
            self._cycle_started = time.monotonic()
            try:
                report = self.app.check(only=only)
            except Exception as exc:
                log.exception("cycle failed")
                self._sd.status(f"last cycle failed: {type(exc).__name__}")
                return None
            finally:
                self._cycle_started = None
            line = status_line(report, self.app.cfg.schedule.timezone)
            log.info("%s done: %s", "follow-up" if only is not None else "cycle", line)
            self._last_cycle = line
            self._sd.status(line)
            self._plan_follow_up(report)
            return report

    def _flush_outbox(self) -> None:
        """Send deliveries that came due since the last cycle; a running cycle flushes itself."""
        if not self._cycle_lock.acquire(blocking=False):
            return
        try:
            report = self.app.flush()
            if report.sent or report.failed:
                log.info("outbox: %d sent, %d failed", len(report.sent), len(report.failed))
        except Exception:
            log.exception("flushing the outbox failed")
        finally:
            self._cycle_lock.release()

    def _plan_follow_up(self, report: CycleReport) -> None:
        """Poll again later, without sleeping, the KOLs whose yesterday is not out yet.

        Bounded by the cycle itself: once a KOL has had api.max_calls_per_day billed calls
        today it is reported 'late', not lagging, and no further follow-up is planned."""
        lagging = unpublished(report)
        if not lagging or self._stopping or self._scheduler.get_job(FOLLOW_UP_JOB_ID):
            return
        at = dt.datetime.now(dt.UTC) + FOLLOW_UP_DELAY
        self._scheduler.add_job(self._run_cycle, "date", run_date=at, id=FOLLOW_UP_JOB_ID,
                                name="follow-up poll", kwargs={"only": lagging},
                                misfire_grace_time=MISFIRE_GRACE_S, coalesce=True)
        log.info("%d KOL(s) lack %s (not published yet): follow-up at %s",
                 len(lagging), report.yesterday, at.isoformat(timespec="seconds"))

    # --- wording -----------------------------------------------------------------------

    def _describe(self, cfg: Config) -> str:
        jitter = f" + up to {cfg.schedule.jitter_s:g}s jitter" if cfg.schedule.jitter_s else ""
        return cfg.schedule.describe() + jitter

    def _waiting_status(self) -> str:
        job = self._scheduler.get_job(JOB_ID)
        when = job.next_run_time if job is not None else None
        nxt = f"next cycle {when.isoformat(timespec='seconds')}" if when else "no next cycle"
        last = f"; {self._last_cycle}" if self._last_cycle else ""
        return f"{len(self.app.cfg.watchlist)} KOL(s), {self._describe(self.app.cfg)}; {nxt}{last}"
