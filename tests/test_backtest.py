"""`watcher.backtest.run` end to end on a small JSON Lines file."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from watcher.backtest import run
from watcher.detect import DetectSettings


def body(uid: str, totals: list[int], start: dt.date) -> str:
    items = [
        {"num": t, "dateKey": (start + dt.timedelta(i)).isoformat()} for i, t in enumerate(totals)
    ]
    return json.dumps({"userId": uid, "code": 0, "data": {"list": items}})


def totals_with_spike(n: int, spike_day: int) -> list[int]:
    incs = [200 + (i * 37) % 40 for i in range(n)]
    incs[spike_day] += 5000
    out = [100_000]
    for x in incs:
        out.append(out[-1] + x)
    return out


def test_json_and_table_and_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = totals_with_spike(40, 30)
    d0 = dt.date(2025, 9, 1)
    lines = [
        body("a", t[:20], d0),
        "not json",
        body("a", t[20:], d0 + dt.timedelta(20)),  # same user, later half: merges
        body("b", [5000 + i for i in range(41)], d0),
        json.dumps({"userId": "c", "data": {"list": [{"num": -1, "dateKey": "2025-09-01"}]}}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    assert run(path, "json", out, DetectSettings()) == 1
    recs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(r["userId"], r["date"], r["direction"]) for r in recs] == [
        ("a", "2025-10-02", "spike")
    ]
    assert recs[0]["increment"] == t[31] - t[30]
    assert {"baseline", "score", "ratio", "rule", "event_start"} <= recs[0].keys()
    err = capsys.readouterr().err
    assert ":2:" in err and ":5:" in err
    table = io.StringIO()
    run(path, "table", table, DetectSettings())
    rows = table.getvalue().splitlines()
    assert rows[0].startswith("userId") and "2025-10-02" in rows[1] and len(rows) == 2


def test_clean_file_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(body("b", [5000 + i for i in range(30)], dt.date(2025, 9, 1)) + "\n")
    out = io.StringIO()
    assert run(path, "table", out, DetectSettings()) == 0
    assert "no anomalies" in out.getvalue()


def test_parallel_load_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import watcher.backtest as bt

    d0 = dt.date(2025, 9, 1)
    lines = [body(f"k{i}", totals_with_spike(40, 20 + i % 15), d0) for i in range(60)]
    lines[17] = "{broken"
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    serial, serial_err = bt.load(path)
    monkeypatch.setattr(bt, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(bt.os, "cpu_count", lambda: 3)
    par, par_err = bt.load(path)
    assert serial_err == par_err and len(par_err) == 1 and ":18:" in par_err[0]
    assert par.user_ids == serial.user_ids and len(par.user_ids) == 59
    assert (par.days == serial.days).all() and (par.totals == serial.totals).all()


def test_unreadable_file_and_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "missing.jsonl", "json", io.StringIO(), DetectSettings()) == 2
    assert "cannot read" in capsys.readouterr().err
    path = tmp_path / "bom.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + body("a", totals_with_spike(40, 30), dt.date(2025, 9, 1)).encode()
    )
    out = io.StringIO()
    assert run(path, "json", out, DetectSettings()) == 0
    assert out.getvalue().count("\n") == 1
