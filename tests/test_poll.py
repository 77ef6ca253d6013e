"""The fetch stage against the simulator's faults: what is stored, alerted and called."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TOKEN, steady_history
from watcher.app import App, build_app
from watcher.clock import FixedClock, beijing_today
from watcher.config import load_config
from watcher.notify.console import ConsoleNotifier
from watcher.simulator import Fault, Simulator

IDS = [f"6{i:023x}" for i in range(6)]


class Sleeps(list[float]):
    """An injected sleep: records the delays instead of waiting them out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def app(write_config: Callable[[str], Path], sim: Simulator, clock: FixedClock,
        tmp_path: Path) -> App:
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    for uid in IDS:
        sim.set_history(uid, steady_history(yesterday))
    watchlist = ", ".join(f"{{user_id: '{uid}'}}" for uid in IDS)
    path = write_config(f"""
        api: {{base_url: "{sim.url}", token: {TOKEN}, timeout_s: 0.2, concurrency: 2}}
        storage: {{path: {tmp_path / "w.db"}}}
        notify: {{channels: [{{name: out, type: console}}]}}
        watchlist: [{watchlist}]
        """)
    a = build_app(load_config(path), clock=clock, sleep=Sleeps())
    a.notifiers = {"out": ConsoleNotifier("out", a.renderer, open("/dev/null", "w"))}  # noqa: SIM115
    return a


def _stored(app: App) -> set[str]:
    return set(app.store.newest_days())


def test_transient_codes_are_retried_and_every_kol_stored(app: App, sim: Simulator) -> None:
    sim.script(IDS[1], Fault.code(301), Fault.code(500, http_status=500))
    sim.script(IDS[2], Fault.code(999), Fault.reset())
    sim.script(IDS[3], Fault.html(502), Fault.truncated())
    report = app.check()
    assert _stored(app) == set(IDS)
    assert len(sim.calls) == len(IDS) + 6
    assert report.poll.retries == 6 and not report.failed


def test_transient_gives_up_after_max_attempts(app: App, sim: Simulator) -> None:
    sim.script(IDS[1], Fault.code(301), Fault.code(301), Fault.code(301))
    report = app.check()
    assert [k.user_id for k in report.failed] == [IDS[1]]
    assert "gave up after 3 attempts" in report.failed[0].reason
    assert len([c for c in sim.calls if c.user_id == IDS[1]]) == 3


@pytest.mark.parametrize("fault", [Fault.code(400), Fault.spring_400()])
def test_bad_request_fails_that_kol_without_retry(app: App, sim: Simulator,
                                                  fault: Fault) -> None:
    sim.script(IDS[2], fault)
    report = app.check()
    assert [k.user_id for k in report.failed] == [IDS[2]]
    assert len(sim.calls) == len(IDS)
    assert _stored(app) == set(IDS) - {IDS[2]}


@pytest.mark.parametrize("code", [100, 600, 601, 602])
def test_account_fault_stops_the_cycle_with_one_notice(app: App, sim: Simulator,
                                                       code: int) -> None:
    sim.script(None, Fault.code(code))
    report = app.check()
    assert len(sim.calls) == 1
    assert len(report.failed) == len(IDS)
    assert [n.key for n in report.notices] == [f"account:{code}"]
    assert app.check().notices == []  # the same fault is not re-notified within a day


def test_quota_stops_calls_for_the_beijing_day(app: App, sim: Simulator,
                                               clock: FixedClock) -> None:
    sim.script(IDS[3], Fault.code(303))
    first = app.check()
    assert first.poll.stop is not None and len(first.notices) == 1
    made = len(sim.calls)
    assert app.check().poll.made == 0 and len(sim.calls) == made  # no call the rest of the day
    clock.advance(dt.timedelta(days=1))
    app.check()
    assert len(sim.calls) > made  # the next Beijing day resumes


def test_timeout_is_retried_once_later(app: App, sim: Simulator) -> None:
    sim.script(IDS[0], Fault.delay(0.5))
    report = app.check()
    assert not report.failed
    assert report.poll.calls["timeout"] == 1
    assert report.kols[0].calls == 2
    # the retry came after every other KOL (the timed-out call is recorded when it ends)
    assert [c.user_id for c in sim.calls if c.fault is None][-1] == IDS[0]


@pytest.mark.parametrize("data", [
    None,
    {"list": "nope"},
    {"list": [{"num": -5, "dateKey": "2025-12-07"}]},
    {"list": [{"num": 5, "dateKey": "07/12/2025"}]},
    {"list": [{"num": 5, "dateKey": "2025-12-07"}, {"num": 6, "dateKey": "2025-12-07"}]},
])
def test_bad_payload_fails_that_kol_and_the_cycle_goes_on(app: App, sim: Simulator,
                                                          data: object) -> None:
    sim.script(IDS[4], Fault.payload(data))
    report = app.check()
    assert [k.user_id for k in report.failed] == [IDS[4]]
    assert "bad payload" in report.failed[0].reason
    assert _stored(app) == set(IDS) - {IDS[4]}
    assert len(sim.calls) == len(IDS)  # billed: never retried


def test_sound_payload_is_cleaned(app: App, sim: Simulator) -> None:
    sim.script(IDS[4], Fault.payload({"list": [
        {"num": 12, "dateKey": "2025-12-07"}, {"num": 10, "dateKey": "2025-12-05"},
        {"num": 12, "dateKey": "2025-12-07"}, {"num": None, "dateKey": "2025-12-06"}]}))
    app.check()
    assert [p.total for p in app.store.series(IDS[4]).points] == [10, 12]


def test_rate_limit_slows_the_cycle_and_still_polls_all(app: App, sim: Simulator) -> None:
    sim.script(IDS[1], Fault.code(302), Fault.code(302))
    before = app.poller._limiter.rate
    report = app.check()
    assert not report.failed and app.poller._limiter.rate < before
    assert report.poll.calls["code 302"] == 2


@pytest.mark.parametrize(("status", "code", "failed", "calls"), [
    (429, 302, False, len(IDS) + 1),   # rate limited: slowed, then retried
    (503, 503, False, len(IDS) + 1),   # transient
    (500, 500, False, len(IDS) + 1),
    (400, 400, True, len(IDS)),        # this KOL's request is wrong: no retry
    (401, 100, True, 1),               # the account: the cycle stops at once
    (403, 600, True, 1),
])
def test_envelope_with_http_error_status_is_decided_by_code(
    app: App, sim: Simulator, status: int, code: int, failed: bool, calls: int
) -> None:
    sim.script(None, Fault.code(code, http_status=status))
    report = app.check()
    assert len(sim.calls) == calls
    assert bool(report.failed) is failed


def test_garbage_body_is_transient(app: App, sim: Simulator) -> None:
    sim.script(IDS[2], Fault.garbage())
    report = app.check()
    assert not report.failed and len(sim.calls) == len(IDS) + 1


def test_late_publication_is_polled_again_a_bounded_number_of_times(
    app: App, sim: Simulator, clock: FixedClock
) -> None:
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    sim.set_history(IDS[0], steady_history(yesterday - dt.timedelta(days=1)))
    for _ in range(3):
        app.check()
    assert [c.user_id for c in sim.calls].count(IDS[0]) == 3
    report = app.check()  # the cap (api.max_calls_per_day) is reached: no fourth paid call
    assert [c.user_id for c in sim.calls].count(IDS[0]) == 3
    assert report.kols[0].status == "late" and not report.failed
    sim.set_history(IDS[0], steady_history(yesterday))  # published at last
    clock.advance(dt.timedelta(days=1))
    sim.set_history(IDS[0], steady_history(yesterday + dt.timedelta(days=1)))
    app.check()
    assert app.store.newest_days()[IDS[0]] == yesterday + dt.timedelta(days=1)


def test_calls_are_counted_in_the_store(app: App, sim: Simulator) -> None:
    sim.script(IDS[1], Fault.code(301))
    app.check()
    summary = app.store.last_cycle()
    assert summary is not None
    assert summary["summary"]["calls"] == len(IDS) + 1
    assert summary["summary"]["succeeded"] == len(IDS)
    assert summary["summary"]["retries"] == 1
    assert summary["summary"]["calls_by_code"] == {"code 0": len(IDS), "code 301": 1}


def test_token_never_reaches_store_or_logs(app: App, sim: Simulator, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from watcher.logs import setup_logging
    from watcher.redact import Redactor

    setup_logging("debug", Redactor(app.cfg.secrets()))
    # even a library that logs the request URL at debug level is redacted on the way out
    logging.getLogger("urllib3.test").warning("GET /v1?token=%s&userId=x", TOKEN)
    sim.script(IDS[0], Fault.reset(), Fault.code(301, message=f"bad token={TOKEN}"))
    sim.script(IDS[1], Fault.code(100, message=f"token {TOKEN} is invalid"))
    app.check()
    app.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("w.db*"))
    assert TOKEN.encode() not in blob
    err = capsys.readouterr().err
    assert "token=***" in err and "bad token=***" in err
    assert TOKEN not in err


def test_connection_errors_are_redacted(clock: FixedClock) -> None:
    from watcher.api.client import ApiClient

    # a port nobody listens on: requests' message embeds the full URL with the token
    client = ApiClient("http://127.0.0.1:9", TOKEN, timeout_s=60)
    reply = client.fetch(IDS[0], "DAY_30")
    assert reply.action.value == "retry"
    assert TOKEN not in reply.reason and "token=***" in reply.reason


def test_two_hundred_kols_with_transient_faults(write_config: Callable[[str], Path],
                                                sim: Simulator, clock: FixedClock,
                                                tmp_path: Path) -> None:
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    ids = [f"7{i:023x}" for i in range(200)]
    for i, uid in enumerate(ids):
        sim.set_history(uid, steady_history(yesterday, days=30))
        if i % 10 == 3:
            sim.script(uid, Fault.code(301))
    wl = ", ".join(f"{{user_id: '{uid}'}}" for uid in ids)
    path = write_config(f"""
        api: {{base_url: "{sim.url}", token: {TOKEN}, max_rps: 1000, concurrency: 4}}
        storage: {{path: {tmp_path / "big.db"}}}
        watchlist: [{wl}]
        """)
    a = build_app(load_config(path), clock=clock, sleep=Sleeps(),
                  notifiers={})
    report = a.check()
    assert not report.failed and len(a.store.newest_days()) == 200
    assert len(sim.calls) == 200 + report.poll.retries == 220


def test_server_rate_limit_slows_the_client_until_it_fits(
    write_config: Callable[[str], Path], clock: FixedClock, tmp_path: Path
) -> None:
    from tests.test_ratelimit import FakeTime

    t = FakeTime()  # one fake clock for the client's pacing and the server's token bucket
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    ids = [f"9{i:023x}" for i in range(40)]
    with Simulator({u: steady_history(yesterday, days=30) for u in ids}, token=TOKEN,
                   today=lambda: beijing_today(clock), max_rps=5, monotonic=t.monotonic) as sim:
        wl = ", ".join(f"{{user_id: '{u}'}}" for u in ids)
        path = write_config(f"""
            api: {{base_url: "{sim.url}", token: {TOKEN}, max_rps: 100, concurrency: 1}}
            storage: {{path: {tmp_path / "rl.db"}}}
            watchlist: [{wl}]
            """)
        a = build_app(load_config(path), clock=clock, sleep=t.sleep, monotonic=t.monotonic,
                      notifiers={})
        report = a.check()
    assert not report.failed
    limited = report.poll.calls["code 302"]
    assert 0 < limited <= 8  # it learned the limit instead of hammering the server
    assert report.poll.made == 40 + limited
    assert a.poller._limiter.rate <= 10


def test_stopping_starts_no_further_kol(app: App, sim: Simulator) -> None:
    # SIGTERM in the daemon sets this; the KOL in flight is covered by tests/test_daemon.py
    app.poller.stopping.set()
    report = app.check()
    assert sim.calls == []
    assert len(report.failed) == len(IDS)
    assert all("watcher is stopping" in k.reason for k in report.failed)
    assert app.store.last_cycle() is not None  # the cycle is still recorded whole


def test_a_bad_payload_is_billed_so_it_counts_toward_the_daily_cap(app: App,
                                                                    sim: Simulator) -> None:
    bad = Fault.payload({"list": [{"num": -1, "dateKey": "2025-12-07"}]})
    sim.script(IDS[4], *[bad] * 6)
    for _ in range(5):
        app.check()
    # each bad answer was billed: after api.max_calls_per_day (3) of them, no more calls
    assert [c.user_id for c in sim.calls].count(IDS[4]) == 3
    assert sim.billed_calls() == (len(IDS) - 1) + 3


def test_schema_1_stores_are_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    from watcher.store import Store
    from watcher.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.executescript(MIGRATIONS[1] + "\nPRAGMA user_version = 1;")
    raw.execute("INSERT INTO cycles (id, started_at) VALUES (1, '2025-12-08T02:00:00+00:00')")
    raw.execute("INSERT INTO polls VALUES (1, 'u', 'ok', 'code 0', 1)")
    raw.commit()
    raw.close()
    store = Store(path)
    assert store.billed_calls_since(dt.datetime(2025, 12, 8, tzinfo=dt.UTC)) == {}
    store.record_poll(1, "v", "ok", "code 0", 1, 1)
    assert store.billed_calls_since(dt.datetime(2025, 12, 8, tzinfo=dt.UTC)) == {"v": 1}
