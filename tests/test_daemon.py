"""`watcher run` as systemd runs it: a subprocess, a NOTIFY_SOCKET, signals, real SQLite files."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import STEADY, TOKEN, steady_history
from tests.test_sdnotify import NotifyListener, listener  # noqa: F401 - the fixture
from watcher.clock import FixedClock, beijing_today
from watcher.config import ScheduleConfig, load_config
from watcher.config.secrets_check import literal_secret_warnings
from watcher.daemon import FOLLOW_UP_DELAY, FOLLOW_UP_JOB_ID, Daemon
from watcher.schedule import crontab_weekdays, make_trigger, period
from watcher.simulator import Fault, Simulator
from watcher.store import Store

KOLS = [f"5b1f0c2e0000000001{i:06x}" for i in range(8)]
STOP_BOUND_S = 15.0  # how long a stop may take here: the cycle in flight plus the exit


@pytest.fixture
def live_sim() -> Iterator[Simulator]:
    """The simulator on the real Beijing date, as the subprocess's real clock sees it."""
    yesterday = beijing_today(FixedClock(dt.datetime.now(dt.UTC))) - dt.timedelta(days=1)
    histories = {uid: steady_history(yesterday, base=10_000 * (i + 1))
                 for i, uid in enumerate(KOLS)}
    with Simulator(histories, token=TOKEN) as s:
        yield s


def config_text(sim: Simulator, db: Path, kols: list[str], *, extra: str = "",
                concurrency: int = 4) -> str:
    watchlist = "".join(f"  - {{user_id: {uid}, name: KOL {uid[-2:]}}}\n" for uid in kols)
    return textwrap.dedent(f"""\
        api:
          base_url: {sim.url}
          token_file: ${{CREDENTIALS_DIRECTORY}}/justoneapi-token
          max_rps: 100
          timeout_s: 5
          concurrency: {concurrency}
        storage:
          path: {db}
        schedule:
          every: 2s
        """) + extra + "watchlist:\n" + watchlist


class Service:
    """`watcher run` started the way systemd starts it, with stderr in a file."""

    def __init__(self, tmp_path: Path, config: Path, notify: NotifyListener,
                 args: tuple[str, ...] = ()) -> None:
        creds = tmp_path / "credentials"
        creds.mkdir(exist_ok=True)
        (creds / "justoneapi-token").write_text(TOKEN + "\n")  # as `echo TOKEN >` writes it
        self.stderr_path = tmp_path / "stderr.log"
        self._stderr = open(self.stderr_path, "w+b")  # noqa: SIM115 - closed in stop()
        st = os.fstat(self._stderr.fileno())
        env = {**os.environ, "NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "1000000",
               "CREDENTIALS_DIRECTORY": str(creds),
               "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        env.pop("WATCHDOG_PID", None)
        self.notify = notify
        self.stopping = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "-c", str(config), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr, env=env)

    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log():
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.log()}"
            time.sleep(0.05)

    def wait_status(self, prefix: str, after: int = 0, timeout: float = 15.0) -> int:
        """Index of the next STATUS= message from `after` on that starts with `prefix`."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.notify.wait_for("STATUS", after=after, timeout=deadline - time.monotonic())
            if self.notify.messages[i]["STATUS"].startswith(prefix):
                return i
            after = i + 1

    def signal(self, sig: signal.Signals) -> None:
        self.stopping = self.stopping or sig == signal.SIGTERM
        self.proc.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM (once: a second one means "exit now") and the exit code."""
        if self.proc.poll() is None and not self.stopping:
            self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_BOUND_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._stderr.close()


@pytest.fixture
def service(tmp_path: Path, listener: NotifyListener  # noqa: F811
            ) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(config: Path, *args: str) -> Service:
        s = Service(tmp_path, config, listener, args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def _called(sim: Simulator) -> set[str]:
    return {c.user_id or "" for c in sim.calls}


def test_ready_status_watchdog_and_journal_lines(live_sim: Simulator, tmp_path: Path,
                                                 service: Callable[..., Service]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(config_text(live_sim, tmp_path / "w.db", KOLS[:2]))
    svc = service(cfg)
    n = svc.notify
    ready = n.wait_for("READY", "1")
    # no cycle in the empty store: the catch-up runs at once
    first = svc.wait_status("last cycle ", after=ready)
    assert "2 KOL(s), 0 failed, 2 call(s)" in n.messages[first]["STATUS"]
    pings = n.count("WATCHDOG")
    n.wait_for("WATCHDOG", "1", after=len(n.messages))
    n.wait_for("WATCHDOG", "1", after=len(n.messages))
    assert n.count("WATCHDOG") >= pings + 2
    # the next scheduled cycle finds both up to date: no call
    later = svc.wait_status("last cycle ", after=first + 1)
    assert "2 KOL(s), 0 failed, 0 call(s)" in n.messages[later]["STATUS"]
    assert live_sim.billed_calls() == 2
    assert svc.stop() == 0
    n.drain()
    assert n.count("STOPPING") == 1
    lines = svc.log().splitlines()
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>", "<7>") for line in lines), lines
    assert "<6>watcher.daemon: watcher running: 2 KOL(s), every 2s" in lines
    assert TOKEN not in svc.log()
    assert "flushing the outbox at stop failed" not in svc.log()
    assert lines[-1] == "<6>watcher.daemon: stopped"


def test_sighup_reloads_the_watchlist_and_rejects_an_invalid_config(
        live_sim: Simulator, tmp_path: Path, service: Callable[..., Service]) -> None:
    cfg = tmp_path / "config.yaml"
    db = tmp_path / "w.db"
    cfg.write_text(config_text(live_sim, db, KOLS[:1]))
    svc = service(cfg)
    n = svc.notify
    svc.wait_status("last cycle ", after=n.wait_for("READY", "1"))
    assert _called(live_sim) == {KOLS[0]}

    cfg.write_text(config_text(live_sim, db, KOLS[:2]))
    mark = len(n.messages)
    svc.signal(signal.SIGHUP)
    reloading = n.wait_for("RELOADING", "1", after=mark)
    ready = n.wait_for("READY", "1", after=reloading)
    assert n.messages[ready]["STATUS"].startswith("2 KOL(s), every 2s; next cycle ")
    cycle = svc.wait_status("last cycle ", after=ready)
    assert "2 KOL(s), 0 failed, 1 call(s)" in n.messages[cycle]["STATUS"]
    assert _called(live_sim) == {KOLS[0], KOLS[1]}
    # the reloaded file's warnings are logged again, as at start
    assert svc.log().count("line 5: api.timeout_s") == 2  # timeout_s: 5 is under 60 s

    # invalid: an unknown key and a bad user id; it also lists a third KOL, never to be polled
    cfg.write_text(config_text(live_sim, db, [*KOLS[:3], "not-a-user-id"],
                               extra="bogus_section: 1\n"))
    mark = len(n.messages)
    svc.signal(signal.SIGHUP)
    reloading = n.wait_for("RELOADING", "1", after=mark)
    ready = n.wait_for("READY", "1", after=reloading)
    assert n.messages[ready]["STATUS"].startswith("reload rejected: 2 problem(s)")
    svc.wait_log("reload rejected (2 problem(s)): still running on the previous config")
    log = svc.log()
    assert "bogus_section: unknown key" in log and "watchlist[3].user_id" in log
    cycle = svc.wait_status("last cycle ", after=ready)
    assert n.messages[cycle]["STATUS"].split(": ", 1)[1].startswith("2 KOL(s)")
    assert KOLS[2] not in _called(live_sim)
    assert svc.proc.poll() is None
    assert svc.stop() == 0


def test_sigterm_during_a_cycle_finishes_the_kol_in_flight_and_exits_0(tmp_path: Path,
                                                        service: Callable[..., Service]
                                                        ) -> None:
    yesterday = beijing_today(FixedClock(dt.datetime.now(dt.UTC))) - dt.timedelta(days=1)
    histories = {uid: steady_history(yesterday) for uid in KOLS[:6]}
    # 0.25 s per answer, one at a time: the cycle takes 1.5 s, so SIGTERM lands inside it
    with Simulator(histories, token=TOKEN, latency_s=0.25) as sim:
        cfg = tmp_path / "config.yaml"
        db = tmp_path / "w.db"
        cfg.write_text(config_text(sim, db, KOLS[:6], concurrency=1))
        svc = service(cfg)
        deadline = time.monotonic() + 15
        while not sim.calls:
            assert time.monotonic() < deadline and svc.proc.poll() is None, svc.log()
            time.sleep(0.02)
        svc.signal(signal.SIGTERM)
        at_signal = len(sim.calls)
        started = time.monotonic()
        assert svc.stop() == 0
        took = time.monotonic() - started
        calls = len(sim.calls)
    assert at_signal < 6 and took < STOP_BOUND_S
    assert "stopping after the KOL in flight" in svc.log()
    n = svc.notify
    n.drain()
    assert n.count("STOPPING") == 1
    # the KOL in flight was finished and no other was started: fewer than 6 calls
    assert at_signal <= calls < 6
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("SELECT count(*) FROM cycles WHERE finished_at IS NULL"
                           ).fetchone() == (0,)
    store = Store(db)
    try:
        last = store.last_cycle()
        assert last is not None and last["summary"]["kols"] == 6
        assert last["summary"]["failed"] == 6 - calls  # the unstarted ones, named as such
        stored = [len(store.series(uid).points) for uid in KOLS[:6]]
        assert sorted(stored) == [0] * (6 - calls) + [90] * calls  # each KOL whole or absent
    finally:
        store.close()


def test_a_second_stop_signal_exits_at_once(tmp_path: Path,
                                           service: Callable[..., Service]) -> None:
    yesterday = beijing_today(FixedClock(dt.datetime.now(dt.UTC))) - dt.timedelta(days=1)
    with Simulator({uid: steady_history(yesterday) for uid in KOLS}, token=TOKEN) as sim:
        # the second KOL's answer is held, so it is in flight when both signals land
        sim.script(KOLS[1], Fault.delay(5.0))
        cfg = tmp_path / "config.yaml"
        cfg.write_text(config_text(sim, tmp_path / "w.db", KOLS, concurrency=1))
        svc = service(cfg)
        deadline = time.monotonic() + 15
        while sim.arrived < 2:  # the catch-up cycle has its second request out
            assert time.monotonic() < deadline and svc.proc.poll() is None, svc.log()
            time.sleep(0.02)
        svc.signal(signal.SIGINT)
        svc.wait_log("stopping after the KOL in flight")
        svc.signal(signal.SIGINT)
        assert svc.proc.wait(timeout=STOP_BOUND_S) == 1
        assert len(sim.calls) < len(KOLS)
    assert "second stop signal: exiting without waiting" in svc.log()


def test_follow_up_polls_are_scheduled_not_slept_on(tmp_path: Path, clock: FixedClock,
                                                    write_config: Callable[[str], Path]
                                                    ) -> None:
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    lagging = steady_history(yesterday - dt.timedelta(days=1), base=80_000)
    with Simulator({KOLS[0]: steady_history(yesterday), STEADY: lagging}, token=TOKEN,
                   today=lambda: beijing_today(clock)) as sim:
        path = write_config(f"""
            api: {{base_url: {sim.url}, token: {TOKEN}, max_rps: 100, max_calls_per_day: 3}}
            storage: {{path: {tmp_path / "w.db"}}}
            watchlist:
              - user_id: {KOLS[0]}
              - user_id: {STEADY}
            """)
        from watcher.app import build_app

        cfg = load_config(path)
        daemon = Daemon(str(path), cfg, app=build_app(cfg, clock=clock), env={})
        try:
            before = dt.datetime.now(dt.UTC)
            daemon._run_cycle()
            job = daemon._scheduler.get_job(FOLLOW_UP_JOB_ID)
            assert job is not None and job.kwargs == {"only": [STEADY]}
            run_at = job.trigger.run_date
            assert before + FOLLOW_UP_DELAY <= run_at <= dt.datetime.now(dt.UTC) + \
                FOLLOW_UP_DELAY
            runs = 0
            while job is not None and runs < 10:  # still lagging: another, until the cap
                job.remove()
                job.func(**job.kwargs)
                job = daemon._scheduler.get_job(FOLLOW_UP_JOB_ID)
                runs += 1
            assert job is None  # capped for the day: the KOL is now 'late'
            ids = [c.user_id for c in sim.calls]
            assert ids.count(STEADY) == 3 and ids.count(KOLS[0]) == 1  # api.max_calls_per_day

            # the next day the vendor publishes on time: no follow-up
            clock.advance(dt.timedelta(days=1))
            sim.set_history(STEADY, steady_history(yesterday + dt.timedelta(days=1)))
            sim.set_history(KOLS[0], steady_history(yesterday + dt.timedelta(days=1)))
            report = daemon._run_cycle()
            assert report is not None and not report.failed
            assert daemon._scheduler.get_job(FOLLOW_UP_JOB_ID) is None
        finally:
            daemon.app.close()


def test_catch_up_only_when_the_last_cycle_is_older_than_a_period(
        tmp_path: Path, clock: FixedClock, sim: Simulator,
        write_config: Callable[[str], Path]) -> None:
    from watcher.app import build_app

    path = write_config(f"""
        api: {{base_url: {sim.url}, token: {TOKEN}}}
        storage: {{path: {tmp_path / "w.db"}}}
        schedule: {{cron: "0 10 * * *"}}
        watchlist: [{{user_id: {STEADY}}}]
        """)
    cfg = load_config(path)
    daemon = Daemon(str(path), cfg, app=build_app(cfg, clock=clock), env={})
    try:
        trigger = make_trigger(cfg.schedule, jitter=False)
        assert daemon._overdue(trigger)  # nothing in the store
        daemon._run_cycle()
        assert not daemon._overdue(trigger)
        clock.advance(dt.timedelta(days=1, minutes=1))
        assert daemon._overdue(trigger)
    finally:
        daemon.app.close()


def test_crontab_weekdays_keep_their_crontab_meaning() -> None:
    # APScheduler 3 numbers weekdays from Monday = 0; crontab from Sunday = 0 (and 7)
    assert crontab_weekdays("*") == "*"
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("0") == crontab_weekdays("7") == "sun"
    assert crontab_weekdays("0-2") == "sun,mon,tue"
    assert crontab_weekdays("5-7") == "sun,fri,sat"
    assert crontab_weekdays("*/2") == "sun,tue,thu,sat"
    assert crontab_weekdays("MON-WED,sat") == "mon,tue,wed,sat"
    with pytest.raises(ValueError):
        crontab_weekdays("9")
    monday = make_trigger(ScheduleConfig(cron="0 10 * * 1"))
    sunday = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)  # a Sunday
    fire = monday.get_next_fire_time(None, sunday)
    assert fire.isoformat() == "2026-12-07T10:00:00+08:00"


def test_trigger_jitter_and_period() -> None:
    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    daily = ScheduleConfig(cron="0 10 * * *", jitter_s=300)
    assert make_trigger(daily).jitter == 300
    assert make_trigger(daily, jitter=False).jitter is None
    assert period(make_trigger(daily, jitter=False), now) == dt.timedelta(days=1)
    every = ScheduleConfig(cron=None, every_s=2)
    assert period(make_trigger(every), now) == dt.timedelta(seconds=2)


def test_jitter_in_the_config(write_config: Callable[[str], Path]) -> None:
    path = write_config(f"""
        api: {{token: x}}
        schedule: {{cron: "0 10 * * *", jitter: 5m}}
        watchlist: [{{user_id: {STEADY}}}]
        """)
    assert load_config(path).schedule.jitter_s == 300


# --- a config readable by others that holds a literal secret ---------------------------------

SECRET_CONFIG = """\
api:
  token: tok-literal
notify:
  channels:
    - {name: team, type: slack, webhook_url: "https://hooks.slack.com/services/T/B/x"}
    - name: mail
      type: email
      password: ${SMTP_PASSWORD}
      password_file: null
watchlist: []
"""


def test_literal_secret_in_a_readable_config_is_warned_about() -> None:
    warnings = literal_secret_warnings("/etc/watcher/config.yaml", 0o100644, SECRET_CONFIG)
    assert len(warnings) == 2
    assert warnings[0].startswith("/etc/watcher/config.yaml: line 2: api.token is written out "
                                  "in a file its group and others can read (mode 0644): use "
                                  "token_file")
    assert "line 5: notify.channels[0].webhook_url" in warnings[1]
    assert "tok-literal" not in "".join(warnings)
    assert "others can read (mode 0604)" in literal_secret_warnings("c", 0o604,
                                                                    SECRET_CONFIG)[0]
    assert literal_secret_warnings("c", 0o100600, SECRET_CONFIG) == []
    references = "api: {token: '${TOKEN}', token_file: x}\npassword: ''\n"
    assert literal_secret_warnings("c", 0o644, references) == []
    assert literal_secret_warnings("c", 0o644, "api: [unclosed") == []


def test_cli_warns_about_a_readable_config_with_a_literal_secret(
        sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"api: {{base_url: {sim.url}, token: {TOKEN}}}\n"
                    f"watchlist: [{{user_id: {STEADY}}}]\n")
    path.chmod(0o644)
    out = subprocess.run([sys.executable, "-m", "watcher", "validate", "-c", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "line 1: api.token is written out" in out.stderr
    assert TOKEN not in out.stderr
    path.chmod(0o600)
    out = subprocess.run([sys.executable, "-m", "watcher", "validate", "-c", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "written out" not in out.stderr


# --- the unit file, where systemd-analyze is installed (Debian package `systemd`) ------------

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "watcher.service"
needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="systemd-analyze not installed")


def _unit_copy(tmp_path: Path) -> Path:
    # verify checks that ExecStart's binary exists: point it at this venv's console script
    venv_watcher = Path(sys.executable).parent / "watcher"
    binary = str(venv_watcher) if venv_watcher.exists() else "/bin/true"
    text = UNIT.read_text().replace("/opt/watcher/venv/bin/watcher", binary)
    copy = tmp_path / "watcher.service"
    copy.write_text(text)
    return copy


@needs_systemd_analyze
def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    out = subprocess.run(["systemd-analyze", "verify", str(_unit_copy(tmp_path))],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")


@needs_systemd_analyze
def test_unit_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    out = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                          str(_unit_copy(tmp_path))], capture_output=True, text=True,
                         timeout=60)
    m = re.search(r"Overall exposure level for watcher\.service: (\d+\.\d)", out.stdout)
    assert m is not None, out.stdout + out.stderr
    assert float(m.group(1)) <= 2.0, out.stdout


def test_unit_has_what_the_daemon_relies_on() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes",
                 "StateDirectory=watcher", "ConfigurationDirectory=watcher",
                 "LoadCredential=justoneapi-token:", "LoadCredential=smtp-password:",
                 "LoadCredential=slack-webhook:",
                 "Environment=OPENBLAS_NUM_THREADS=1 PYTHONFAULTHANDLER=1"):
        assert line in text, line


def test_due_deliveries_are_retried_between_cycles(tmp_path: Path, clock: FixedClock,
                                                   sim: Simulator,
                                                   write_config: Callable[[str], Path]
                                                   ) -> None:
    import io

    from watcher.app import build_app
    from watcher.daemon import OUTBOX_EVERY_S, OUTBOX_JOB_ID
    from watcher.model import Notice
    from watcher.notify.console import ConsoleNotifier

    path = write_config(f"""
        api: {{base_url: {sim.url}, token: {TOKEN}}}
        storage: {{path: {tmp_path / "w.db"}}}
        notify: {{channels: [{{name: out, type: console}}]}}
        watchlist: [{{user_id: {STEADY}}}]
        """)
    cfg = load_config(path)
    app = build_app(cfg, clock=clock)
    out = io.StringIO()
    app.notifiers = {"out": ConsoleNotifier("out", app.renderer, out)}
    daemon = Daemon(str(path), cfg, app=app, env={})
    try:
        daemon._schedule(cfg)
        job = daemon._scheduler.get_job(OUTBOX_JOB_ID)
        assert job is not None and job.trigger.interval.total_seconds() == OUTBOX_EVERY_S
        app.store.queue_notice(Notice("k", "a held-back notice", "d"), ["out"], clock.now(),
                               dt.timedelta(hours=1))
        job.func()
        assert "a held-back notice" in out.getvalue()
        assert [d["status"] for d in app.store.deliveries()] == ["sent"]
    finally:
        app.close()
