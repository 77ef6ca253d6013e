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
