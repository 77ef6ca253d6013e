"""The bundled simulator speaks the vendor contract and injects faults as clients see them."""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import yaml

from watcher.model import Point
from watcher.simulator import PATH, DemoKol, Fault, Simulator, demo_watchlist
from watcher.simulator.__main__ import yaml_snippet
from watcher.simulator.limits import TokenBucket

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


# --- scripted faults -------------------------------------------------------------------------


ALL_CODES = [100, 101, 202, 300, 301, 302, 303, 400, 404, 500, 503, 600, 601, 602, 999]


@pytest.mark.parametrize("code", ALL_CODES)
def test_code_fault_gives_that_envelope_once(sim: Simulator, code: int) -> None:
    sim.script(UID, Fault.code(code))
    r = get(sim)
    assert r.status_code == 200
    body = r.json()
    assert {"code", "data", "message", "recordTime"} <= body.keys()
    assert (body["code"], body["data"]) == (code, None)
    assert body["message"] is None or isinstance(body["message"], str)
    assert get(sim).json()["code"] == 0  # consumed: normal service resumes
    assert sim.billed_calls() == 1
    assert sim.calls[0].fault == f"code:{code}" and sim.calls[1].fault is None


def test_code_fault_messages_are_realistic() -> None:
    assert Fault.code(301).message == "FAILED, RETRY"
    assert Fault.code(602).message is None
    assert Fault.code(999).message == "UNKNOWN ERROR"
    assert Fault.code(500, message="boom").message == "boom"
    assert Fault.code(500, message=None).message is None


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500, 503])
def test_code_fault_with_http_status(sim: Simulator, status: int) -> None:
    sim.script(UID, Fault.code(500, http_status=status))
    r = get(sim)
    assert r.status_code == status
    body = r.json()
    assert body["code"] == 500 and body["data"] is None
    assert sim.calls[-1].http_status == status and sim.calls[-1].code == 500


def test_code_fault_carries_data(sim: Simulator) -> None:
    sim.script(UID, Fault.code(301, data={"why": "upstream"}))
    assert get(sim).json()["data"] == {"why": "upstream"}


def test_spring_400_fault(sim: Simulator) -> None:
    sim.script(UID, Fault.spring_400())
    r = get(sim)
    assert r.status_code == 400
    body = r.json()
    assert "code" not in body
    assert (body["status"], body["error"], body["path"]) == (400, "Bad Request", PATH)
    assert sim.calls[-1].code is None and sim.calls[-1].fault == "spring_400"


@pytest.mark.parametrize("status", [502, 504])
def test_html_fault(sim: Simulator, status: int) -> None:
    sim.script(UID, Fault.html(status))
    r = get(sim)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("text/html")
    assert f"<title>{status} " in r.text and "nginx" in r.text
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_truncated_fault_breaks_the_read(sim: Simulator) -> None:
    sim.script(UID, Fault.truncated())
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        get(sim)
    assert sim.calls[-1].fault == "truncated" and not sim.calls[-1].billed
    assert get(sim).json()["code"] == 0


def test_truncated_body_is_half_of_the_real_one(sim: Simulator) -> None:
    # A raw socket shows exactly what was sent before the close.
    sim.script(UID, Fault.truncated())
    host, port = sim.url.removeprefix("http://").split(":")
    query = urllib.parse.urlencode(params())
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET {PATH}?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, sent = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    assert len(sent) == length // 2
    assert sent.startswith(b'{"code": 0')
    assert b'"dateKey"' in sent  # the real history, not a placeholder


def test_garbage_fault(sim: Simulator) -> None:
    sim.script(UID, Fault.garbage())
    r = get(sim)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_reset_fault(sim: Simulator) -> None:
    sim.script(UID, Fault.reset())
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            session.get(sim.url + PATH, params=params(), timeout=5)
        # The same session recovers on a fresh connection.
        assert session.get(sim.url + PATH, params=params(), timeout=5).json()["code"] == 0
    reset_call = sim.calls[0]
    assert (reset_call.fault, reset_call.http_status, reset_call.code) == ("reset", None, None)


def test_delay_fault_triggers_client_timeout(sim: Simulator) -> None:
    sim.script(UID, Fault.delay(0.3))
    with pytest.raises(requests.ReadTimeout):
        requests.get(sim.url + PATH, params=params(), timeout=0.1)
    assert get(sim).json()["code"] == 0


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "oops",
        {"fansNumInc": 0, "fansNumIncRate": 0.0},
        {"list": None},
        {"list": [{"num": None, "dateKey": "2025-12-07"}]},
        {"list": [{"num": 5, "dateKey": "2025-12-07"}, {"num": 6, "dateKey": "2025-12-07"}]},
        {"list": [{"num": -1, "dateKey": "2025-12-07"}]},
        {"list": [{"num": 5, "dateKey": "07/12/2025"}]},
        {"list": [{"num": 6, "dateKey": "2025-12-07"}, {"num": 5, "dateKey": "2025-12-06"}]},
    ],
)
def test_payload_fault_is_served_verbatim_and_billed(sim: Simulator, data: Any) -> None:
    sim.script(UID, Fault.payload(data))
    body = get(sim).json()
    assert (body["code"], body["data"]) == (0, data)
    assert sim.billed_calls() == 1 and sim.calls[-1].fault == "payload"


def test_faults_queue_per_user_then_any(sim: Simulator) -> None:
    sim.script(UID, Fault.code(301), Fault.code(500))
    sim.script(None, Fault.code(600))
    assert get(sim, userId=OTHER).json()["code"] == 600  # any-user queue
    assert get(sim, userId=OTHER).json()["code"] == 0
    assert [get(sim).json()["code"] for _ in range(3)] == [301, 500, 0]


def test_mixed_fault_sequence_then_recovery(sim: Simulator) -> None:
    # The shape of a retry scenario: a reset, a transient code, a gateway page, then success.
    sim.script(UID, Fault.reset(), Fault.code(301), Fault.html(503))
    outcomes: list[str] = []
    with requests.Session() as session:
        for _ in range(4):
            try:
                r = session.get(sim.url + PATH, params=params(), timeout=5)
            except requests.ConnectionError:
                outcomes.append("reset")
                continue
            ctype = r.headers["Content-Type"]
            outcomes.append(f"{r.status_code}:{r.json()['code'] if 'json' in ctype else 'html'}")
    assert outcomes == ["reset", "200:301", "503:html", "200:0"]
    assert [c.fault for c in sim.calls] == ["reset", "code:301", "html:503", None]
    assert sim.billed_calls() == 1


def test_user_queue_is_used_before_any_user_queue(sim: Simulator) -> None:
    sim.script(None, Fault.code(600))
    sim.script(UID, Fault.code(301))
    assert [get(sim).json()["code"] for _ in range(3)] == [301, 600, 0]


# --- rate limit and quota -------------------------------------------------------------------


def test_rate_limit_answers_302_after_the_burst(clock: Clock) -> None:
    # 0.5 rps: a burst of one, then a token every 2 s, far longer than the test takes.
    with Simulator({UID: history(TODAY)}, token=TOKEN, today=clock, max_rps=0.5) as s:
        first, second, third = (get(s) for _ in range(3))
    assert first.json()["code"] == 0
    for r in (second, third):
        assert r.status_code == 200
        body = r.json()
        assert (body["code"], body["data"]) == (302, None)
    assert s.billed_calls() == 1


def test_token_bucket_burst_and_refill() -> None:
    now = [100.0]
    bucket = TokenBucket(4.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(5)] == [True] * 4 + [False]
    now[0] += 0.25  # one token's worth at 4 rps
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 60  # refills only up to the burst size
    assert sum(bucket.take() for _ in range(10)) == 4
    assert TokenBucket(0.2, clock=lambda: now[0]).capacity == 1.0


def test_daily_quota_answers_303_then_resets_next_day(clock: Clock) -> None:
    with Simulator({UID: history(TODAY, days=200)}, token=TOKEN, today=clock, daily_quota=2) as s:
        assert get(s, token="bad").json()["code"] == 100  # unbilled calls do not count
        assert [get(s).json()["code"] for _ in range(3)] == [0, 0, 303]
        assert s.calls[-1].billed is False
        clock.day += dt.timedelta(days=1)
        assert [get(s).json()["code"] for _ in range(3)] == [0, 0, 303]
        assert s.billed_calls() == 4


def test_billed_payload_faults_use_up_the_quota(clock: Clock) -> None:
    with Simulator({UID: history(TODAY)}, token=TOKEN, today=clock, daily_quota=1) as s:
        s.script(UID, Fault.payload({"list": []}))
        assert get(s).json()["code"] == 0
        assert get(s).json()["code"] == 303


# --- server behaviour ----------------------------------------------------------------------


def test_kept_alive_connection_is_dropped_on_stop(clock: Clock) -> None:
    s = Simulator({UID: history(TODAY)}, token=TOKEN, today=clock).start()
    url = s.url + PATH
    with requests.Session() as session:
        assert session.get(url, params=params(), timeout=5).status_code == 200
        s.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, params=params(), timeout=5)


def test_concurrent_requests_are_all_recorded(sim: Simulator) -> None:
    def worker(n: int) -> list[int]:
        with requests.Session() as session:
            uid = UID if n % 2 else OTHER
            return [
                session.get(sim.url + PATH, params=params(userId=uid), timeout=5).json()["code"]
                for _ in range(20)
            ]

    with ThreadPoolExecutor(8) as pool:
        codes = [c for batch in pool.map(worker, range(8)) for c in batch]
    assert codes == [0] * 160
    assert len(sim.calls) == 160 and sim.billed_calls() == 160
    assert sum(c.user_id == UID for c in sim.calls) == 80


def test_quota_holds_under_concurrency(clock: Clock) -> None:
    with Simulator({UID: history(TODAY)}, token=TOKEN, today=clock, daily_quota=30) as s:

        def worker(_: int) -> list[int]:
            with requests.Session() as session:
                calls = (session.get(s.url + PATH, params=params(), timeout=5) for _ in range(10))
                return [r.json()["code"] for r in calls]

        with ThreadPoolExecutor(8) as pool:
            codes = [c for batch in pool.map(worker, range(8)) for c in batch]
        assert codes.count(0) == 30 and codes.count(303) == 50
        assert s.billed_calls() == 30


def test_latency_is_seeded_and_within_range() -> None:
    def draws(seed: int) -> list[float]:
        s = Simulator(latency_s=(0.2, 0.4), seed=seed)
        return [s._pick_latency() for _ in range(50)]

    assert draws(1) == draws(1) != draws(2)
    assert all(0.2 <= x <= 0.4 for x in draws(1))
    assert Simulator(latency_s=0.25)._pick_latency() == 0.25


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = Simulator().url


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


def test_entry_point_snippet_is_valid_yaml() -> None:
    doc = yaml.safe_load(yaml_snippet("http://127.0.0.1:8080", "T"))
    assert doc["api"] == {"base_url": "http://127.0.0.1:8080", "token": "T"}
    names = [k["name"] for k in doc["watchlist"]]
    assert "Lily & <Co>" in names and any("小鹿" in n for n in names)
    assert all(len(k["user_id"]) == 24 and isinstance(k["tags"], list) for k in doc["watchlist"])
