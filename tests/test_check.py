"""`watcher check` end to end: simulator -> client -> store -> detector -> Slack and email."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import SPIKY, TOKEN
from tests.receivers import SlackReceiver, SmtpReceiver
from watcher.cli import main
from watcher.clock import FixedClock
from watcher.simulator import Simulator


def test_spike_is_delivered_once_to_slack_and_email(
    full_config: Path, clock: FixedClock, sim: Simulator, slack: SlackReceiver,
    smtp: SmtpReceiver, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-c", str(full_config)], clock=clock) == 0
    assert len(slack.posts) == 1
    assert len(smtp.messages) == 1
    post = slack.posts[0]
    assert SPIKY in post["blocks"][1]["text"]["text"]
    rcpts, msg = smtp.messages[0]
    assert rcpts == ["growth@example.com", "lead@example.com"]
    assert "Follower spike" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    calls_first = len(sim.calls)
    assert calls_first == 2  # one billed call per KOL

    assert main(["check", "-c", str(full_config)], clock=clock) == 0
    assert len(slack.posts) == 1 and len(smtp.messages) == 1  # nothing new delivered
    assert len(sim.calls) == calls_first  # the store already holds yesterday: no call
    out = capsys.readouterr().out
    assert "API calls: 0 made" in out


def test_new_kol_gets_90_days_then_30(full_config: Path, clock: FixedClock,
                                      sim: Simulator) -> None:
    import datetime as dt

    main(["check", "-c", str(full_config)], clock=clock)
    assert {c.date_type for c in sim.calls} == {"DAY_90"}
    assert all(c.increase_type == "FANS_TOTAL" for c in sim.calls)
    clock.advance(dt.timedelta(days=1))
    sim.set_history(SPIKY, [])  # the simulator keeps serving; only the day moved
    main(["check", "-c", str(full_config)], clock=clock)
    assert [c.date_type for c in sim.calls[2:]] == ["DAY_30", "DAY_30"]


def test_history_outlives_the_api_window(full_config: Path, clock: FixedClock,
                                         sim: Simulator, tmp_path: Path) -> None:
    import datetime as dt

    main(["check", "-c", str(full_config)], clock=clock)
    for _ in range(5):
        clock.advance(dt.timedelta(days=1))
        main(["check", "-c", str(full_config)], clock=clock)
    db = sqlite3.connect(tmp_path / "watcher.db")
    (days,) = db.execute("SELECT COUNT(*) FROM totals WHERE user_id = ?", (SPIKY,)).fetchone()
    assert days >= 90  # 90 from the first call; the simulator's fixed history ends earlier


def test_dry_run_prints_but_sends_and_queues_nothing(
    full_config: Path, clock: FixedClock, slack: SlackReceiver, smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--dry-run", "-c", str(full_config)], clock=clock) == 0
    assert "Follower spike" in capsys.readouterr().out
    assert slack.posts == [] and smtp.messages == []
    # the alert was not consumed by the dry run: a real check still sends it
    assert main(["check", "-c", str(full_config)], clock=clock) == 0
    assert len(slack.posts) == 1


def test_bad_token_fails_check_after_one_call_and_never_leaks_it(
    full_config: Path, clock: FixedClock, sim: Simulator, slack: SlackReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim.token = "another-token"
    assert main(["check", "-c", str(full_config)], clock=clock) == 1
    assert len(sim.calls) == 1
    assert len(slack.posts) == 1  # the operational notice
    post = slack.posts[0]
    assert "account cannot be used" in post["text"]
    assert "code 100" in post["blocks"][1]["text"]["text"]
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err


def test_kol_filter_polls_only_that_kol(full_config: Path, clock: FixedClock,
                                        sim: Simulator) -> None:
    assert main(["check", "--kol", SPIKY, "-c", str(full_config)], clock=clock) == 0
    assert [c.user_id for c in sim.calls] == [SPIKY]
    assert main(["check", "--kol", "0" * 24, "-c", str(full_config)], clock=clock) == 2


def test_history_shows_stored_days_and_the_finding(
    full_config: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", "-c", str(full_config)], clock=clock)
    capsys.readouterr()
    assert main(["history", "--kol", SPIKY, "--days", "5", "-c", str(full_config)]) == 0
    out = capsys.readouterr().out
    assert "90 stored days" in out
    lines = [line for line in out.splitlines() if line.startswith("2025-")]
    assert len(lines) == 5 and lines[0].startswith("2025-12-07")  # newest first
    assert "spike (score" in lines[0] and "+20," in lines[0]
    assert "spike" not in "".join(lines[1:])


def test_templates_dir_overrides_a_packaged_template(
    full_config: Path, clock: FixedClock, slack: SlackReceiver, tmp_path: Path
) -> None:
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "anomaly.slack.j2").write_text("Custom: {{ name }} {{ increment }}\nbody {{ day }}")
    text = full_config.read_text().replace("notify:\n", f"notify:\n  templates_dir: {tdir}\n")
    full_config.write_text(text)
    assert main(["check", "-c", str(full_config)], clock=clock) == 0
    assert slack.posts[0]["text"].startswith("Custom: Spiky &lt;!channel&gt; &amp; Co +20,")


def test_backtest_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import datetime as dt
    import json
    import subprocess
    import sys

    from tests.conftest import steady_history

    lines = []
    for i in range(300):  # enough findings to fill the pipe after head has gone
        pts = steady_history(dt.date(2025, 12, 7), days=60, last_jump=50_000)
        body = {"userId": f"{i:024x}", "code": 0, "message": None, "recordTime": None,
                "data": {"list": [{"num": p.total, "dateKey": p.day.isoformat()}
                                  for p in pts]}}
        lines.append(json.dumps(body))
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines))
    proc = subprocess.run(f"{sys.executable} -m watcher backtest --format json "
                          f"--input {src} | head -1", shell=True, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr
