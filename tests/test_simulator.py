"""The bundled simulator speaks the vendor contract and injects faults as clients see them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from watcher.model import Point
from watcher.simulator import PATH, DemoKol, Simulator, demo_watchlist

TOKEN = "t0k3n"
UID = "5b1f3c7e9a2d4f6b8c0e1a3d"
OTHER = "60a2c4e6f8b0d1e3f5a7c9b1"
TODAY = dt.date(2025, 12, 8)


def history(end: dt.date, days: int = 120, base: int = 2000, step: int = 3) -> list[Point]:
    """`days` points ending at `end`, rising by `step` a day."""
    start = end - dt.timedelta(days=days - 1)
    return [Point(start + dt.timedelta(days=i), base + step * i) for i in range(days)]


class Clock:
    """A settable 'today' for the simulator."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


@pytest.fixture
def clock() -> Clock:
    return Clock(TODAY)


@pytest.fixture
def sim(clock: Clock) -> Iterator[Simulator]:
    histories = {UID: history(TODAY - dt.timedelta(days=1)), OTHER: history(TODAY, base=9000)}
    with Simulator(histories, token=TOKEN, today=clock) as s:
        yield s


def params(**overrides: str | None) -> dict[str, str]:
    """The usual query parameters; an override of None drops that parameter."""
    base: dict[str, str | None] = {
        "token": TOKEN,
        "userId": UID,
        "dateType": "DAY_30",
        "increaseType": "FANS_TOTAL",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def get(sim: Simulator, **overrides: str | None) -> requests.Response:
    """One call with the usual parameters (see `params`)."""
    return requests.get(sim.url + PATH, params=params(**overrides), timeout=5)


def days_of(body: dict[str, Any]) -> list[dt.date]:
    return [dt.date.fromisoformat(item["dateKey"]) for item in body["data"]["list"]]


# --- contract: success -----------------------------------------------------------------------


def test_success_body_matches_result_schema(sim: Simulator) -> None:
    r = get(sim)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert {"code", "data", "message", "recordTime"} <= body.keys()
    assert body["code"] == 0
    assert body["message"] is None
    assert isinstance(body["recordTime"], str)
    assert "requestId" not in body or isinstance(body["requestId"], str)
    data = body["data"]
    assert isinstance(data["fansNumInc"], int)
    assert isinstance(data["fansNumIncRate"], float)
    for item in data["list"]:
        assert set(item) == {"num", "dateKey"}
        assert isinstance(item["num"], int)
        dt.date.fromisoformat(item["dateKey"])


def test_day30_is_the_30_days_ending_yesterday(sim: Simulator) -> None:
    body = get(sim).json()
    yesterday = TODAY - dt.timedelta(days=1)
    expected = [yesterday - dt.timedelta(days=29 - i) for i in range(30)]
    assert days_of(body) == expected
    nums = [item["num"] for item in body["data"]["list"]]
    first, last = nums[0], nums[-1]
    assert body["data"]["fansNumInc"] == last - first
    assert body["data"]["fansNumIncRate"] == round((last - first) / first, 4)


def test_day90_is_the_90_days_ending_yesterday(sim: Simulator) -> None:
    days = days_of(get(sim, dateType="DAY_90").json())
    assert len(days) == 90
    assert days[-1] == TODAY - dt.timedelta(days=1)
    assert days[0] == TODAY - dt.timedelta(days=90)


def test_today_is_never_included(sim: Simulator) -> None:
    # OTHER's history has a point for today itself; it must not be served.
    days = days_of(get(sim, userId=OTHER).json())
    assert TODAY not in days
    assert days[-1] == TODAY - dt.timedelta(days=1)
    assert len(days) == 30


def test_not_yet_published_ends_at_newest_day(sim: Simulator) -> None:
    sim.set_history(UID, history(TODAY - dt.timedelta(days=2)))
    days = days_of(get(sim).json())
    assert days[-1] == TODAY - dt.timedelta(days=2)
    # The window stays fixed to the calendar: 30 days ending yesterday, one of them missing.
    assert days[0] == TODAY - dt.timedelta(days=30)
    assert len(days) == 29


def test_injected_today_moves_the_window(sim: Simulator, clock: Clock) -> None:
    clock.day = TODAY - dt.timedelta(days=10)
    days = days_of(get(sim).json())
    assert days[-1] == TODAY - dt.timedelta(days=11)


def test_fans_increase_lists_daily_differences(sim: Simulator) -> None:
    body = get(sim, increaseType="FANS_INCREASE").json()
    assert body["code"] == 0
    assert [item["num"] for item in body["data"]["list"]] == [3] * 30
    assert body["data"]["fansNumInc"] == 3 * 29  # still last total minus first total


def test_history_with_gaps_lists_only_known_days(sim: Simulator) -> None:
    points = [p for p in history(TODAY - dt.timedelta(days=1)) if p.day.day % 2 == 0]
    sim.set_history(UID, points)
    days = days_of(get(sim).json())
    assert days and all(d.day % 2 == 0 for d in days)


# --- contract: errors ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["dateType", "increaseType", "token", "userId"])
def test_missing_param_gives_spring_400(sim: Simulator, missing: str) -> None:
    r = get(sim, **{missing: None})
    assert r.status_code == 400
    body = r.json()
    assert "code" not in body
    assert body["status"] == 400
    assert body["error"] == "Bad Request"
    assert body["path"] == PATH
    assert isinstance(body["timestamp"], str)
    assert sim.billed_calls() == 0


def test_bad_token_gives_code_100(sim: Simulator) -> None:
    r = get(sim, token="wrong")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 100
    assert body["data"] is None
    assert isinstance(body["message"], str)
    assert sim.billed_calls() == 0


@pytest.mark.parametrize(
    "override",
    [
        {"dateType": "DAY_7"},
        {"increaseType": "FANS"},
        {"userId": "not-an-id"},
        {"userId": UID.upper()},
        {"userId": "0" * 24},  # well-formed but unknown
    ],
)
def test_invalid_values_give_code_400_envelope(sim: Simulator, override: dict[str, str]) -> None:
    r = get(sim, **override)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 400
    assert body["data"] is None
    assert sim.billed_calls() == 0


def test_unknown_path_is_404(sim: Simulator) -> None:
    r = requests.get(sim.url + "/api/nope", timeout=5)
    assert r.status_code == 404
    assert sim.calls[-1].http_status == 404


# --- calls record ----------------------------------------------------------------------------


def test_calls_record_each_request(sim: Simulator) -> None:
    get(sim)
    get(sim, token="wrong", dateType="DAY_90")
    get(sim, increaseType=None)
    first, second, third = sim.calls
    assert (first.user_id, first.date_type, first.increase_type) == (UID, "DAY_30", "FANS_TOTAL")
    assert (first.http_status, first.code, first.billed, first.fault) == (200, 0, True, None)
    assert (second.date_type, second.code, second.billed) == ("DAY_90", 100, False)
    assert (third.increase_type, third.http_status, third.code) == (None, 400, None)
    assert first.at <= second.at <= third.at
    assert sim.billed_calls() == 1


def test_port_is_released_on_stop(clock: Clock) -> None:
    s = Simulator({UID: history(TODAY)}, today=clock).start()
    url = s.url
    s.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + PATH, timeout=1)


# --- demo data -------------------------------------------------------------------------------


def increments(kol: DemoKol) -> list[int]:
    return [b.total - a.total for a, b in zip(kol.points, kol.points[1:], strict=False)]


def test_demo_watchlist_shape() -> None:
    kols = demo_watchlist(TODAY)
    assert len(kols) >= 5
    assert len({k.user_id for k in kols}) == len(kols)
    for kol in kols:
        assert len(kol.user_id) == 24 and int(kol.user_id, 16) >= 0
        assert kol.user_id == kol.user_id.lower()
        assert kol.points[-1].day == TODAY - dt.timedelta(days=1)
        days = [p.day for p in kol.points]
        assert days == sorted(days) and len(set(days)) == len(days) >= 100
        assert all(5_000 <= p.total <= 2_500_000 for p in kol.points)
    assert any("&" in k.name and "<" in k.name for k in kols)
    assert demo_watchlist(TODAY) == kols  # deterministic


def test_demo_has_a_spike_and_a_drop_on_the_newest_day() -> None:
    kinds = []
    for kol in demo_watchlist(TODAY):
        incs = increments(kol)
        usual = sorted(abs(i) for i in incs[:-1])[len(incs) // 2]
        if incs[-1] > 20 * max(usual, 1):
            kinds.append("spike")
        elif incs[-1] < 0 and abs(incs[-1]) > 10 * max(usual, 1):
            kinds.append("drop")
    assert sorted(kinds) == ["drop", "spike"]


def test_demo_served_through_the_simulator() -> None:
    kols = demo_watchlist(TODAY)
    with Simulator({k.user_id: k.points for k in kols}, today=lambda: TODAY) as s:
        r = requests.get(
            s.url + PATH,
            params={"token": "sim-token", "userId": kols[1].user_id,
                    "dateType": "DAY_30", "increaseType": "FANS_TOTAL"},
            timeout=5,
        )
    items = r.json()["data"]["list"]
    assert items[-1] == {"num": kols[1].points[-1].total, "dateKey": "2025-12-07"}
    assert json.dumps(r.json())  # round-trips
