"""Alert delivery end to end: `watcher check`, `outbox`, `test-notify`, `validate`, and a
process killed between detection and delivery."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SPIKY, STEADY, TOKEN, steady_history
from tests.receivers import SlackAnswer, SlackReceiver, SmtpReceiver
from watcher.cli import main
from watcher.clock import FixedClock, SystemClock, newest_complete_day
from watcher.simulator import Fault, Simulator

REPO = Path(__file__).resolve().parents[1]


def _config(write_config: Callable[[str, str], Path], sim: Simulator, slack: SlackReceiver,
            smtp: SmtpReceiver, tmp_path: Path, notify: str = "") -> Path:
    return write_config(f"""
        api:
          base_url: {sim.url}
          token: {TOKEN}
          max_rps: 50
          timeout_s: 10
        storage:
          path: {tmp_path / "watcher.db"}
        notify:
          channels:
            - {{name: team, type: slack, webhook_url: "{slack.url}"}}
            - {{name: mail, type: email, host: 127.0.0.1, port: {smtp.port}, security: none,
               from: watcher@example.com, to: [growth@example.com]}}
        {notify}
        watchlist:
          - {{user_id: {SPIKY}, name: "Spiky <!channel>", tags: [beauty]}}
          - {{user_id: {STEADY}, name: Steady Creator}}
        """, "config.yaml")


def test_digest_route_and_ops_route(write_config: Callable[[str, str], Path], sim: Simulator,
                                    slack: SlackReceiver, smtp: SmtpReceiver, tmp_path: Path,
                                    clock: FixedClock) -> None:
    yesterday = newest_complete_day(clock)
    sim.set_history(STEADY, steady_history(yesterday - dt.timedelta(days=4), base=80_000))
    routes = ["{name: beauty, tags: [beauty], channels: [team], group: digest}",
              "{name: ops, ops: true, channels: [mail]}", "{name: rest, channels: [mail]}"]
    cfg = _config(write_config, sim, slack, smtp, tmp_path,
                  "  routes:\n" + "\n".join(f"            - {r}" for r in routes))
    assert main(["check", "-c", str(cfg)], clock=clock) == 0
    (post,) = slack.posts
    assert post["text"].startswith("1 follower anomaly")  # the beauty digest, to Slack only
    assert SPIKY in post["blocks"][3]["text"]["text"]
    assert "<!channel>" not in str(post)
    (_, msg), = smtp.messages  # Steady's data stopped 5 days ago: ops, by email
    assert msg["Subject"] == "[watcher] No new data for Steady Creator"


def test_repeated_poll_failures_raise_one_ops_notice(
    write_config: Callable[[str, str], Path], sim: Simulator, slack: SlackReceiver,
    smtp: SmtpReceiver, tmp_path: Path, clock: FixedClock,
) -> None:
    cfg = _config(write_config, sim, slack, smtp, tmp_path)
    for _ in range(4):
        sim.script(STEADY, Fault.code(400))
        main(["check", "-c", str(cfg)], clock=clock)
        clock.advance(dt.timedelta(hours=1))
    notices = [p for p in slack.posts if "keeps failing" in p["text"]]
    assert len(notices) == 1  # the third failure in a row, then not again within a day
    assert "The last 3 polls of Steady Creator" in notices[0]["blocks"][1]["text"]["text"]


def test_outbox_lists_and_retries(write_config: Callable[[str, str], Path], sim: Simulator,
                                  slack: SlackReceiver, smtp: SmtpReceiver, tmp_path: Path,
                                  clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(write_config, sim, slack, smtp, tmp_path)
    slack.script.append(SlackAnswer(404, "no_service"))
    assert main(["check", "-c", str(cfg)], clock=clock) == 0
    assert len(smtp.messages) == 2  # the alert, and the notice that Slack failed for good
    capsys.readouterr()
    assert main(["outbox", "-c", str(cfg)], clock=clock) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "no_service" in out and SPIKY in out
    assert main(["outbox", "--retry", "-c", str(cfg)], clock=clock) == 0  # Slack is back
    assert "1 sent" in capsys.readouterr().out
    assert len(slack.posts) == 1 and SPIKY in slack.posts[0]["blocks"][1]["text"]["text"]
    assert main(["outbox", "-c", str(cfg)], clock=clock) == 0
    assert "outbox empty" in capsys.readouterr().out


def test_test_notify_reports_each_channel(write_config: Callable[[str, str], Path],
                                          sim: Simulator, slack: SlackReceiver,
                                          smtp: SmtpReceiver, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(write_config, sim, slack, smtp, tmp_path)
    assert main(["test-notify", "-c", str(cfg)]) == 0
    assert len(slack.posts) == 1 and len(smtp.messages) == 1
    assert "team (slack): sent: 200 ok" in capsys.readouterr().out
    slack.script.append(SlackAnswer(404, "no_service"))
    assert main(["test-notify", "--channel", "team", "-c", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "team (slack): FAILED (permanent): slack answered HTTP 404: no_service" in out
    assert len(smtp.messages) == 1  # only the channel asked for
    assert main(["test-notify", "--channel", "nope", "-c", str(cfg)]) == 2


def test_validate_renders_user_templates(write_config: Callable[[str, str], Path],
                                         sim: Simulator, slack: SlackReceiver,
                                         smtp: SmtpReceiver, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    cfg = _config(write_config, sim, slack, smtp, tmp_path,
                  f"  templates_dir: {templates}")
    assert main(["validate", "-c", str(cfg)]) == 0
    (templates / "anomaly.html.j2").write_text("<p>{{ nmae }}</p>")
    assert main(["validate", "-c", str(cfg)]) == 2
    assert "anomaly.html.j2 line 1: UndefinedError: 'nmae' is undefined" in \
        capsys.readouterr().err


def test_killed_between_detection_and_delivery_delivers_exactly_once(
    write_config: Callable[[str, str], Path], slack: SlackReceiver, smtp: SmtpReceiver,
    tmp_path: Path,
) -> None:
    # a subprocess runs on the real clock, so the simulator serves the real Beijing days
    yesterday = newest_complete_day(SystemClock())
    histories = {SPIKY: steady_history(yesterday, last_jump=20_000),
                 STEADY: steady_history(yesterday, base=80_000)}
    with Simulator(histories, token=TOKEN) as sim:
        cfg = _config(write_config, sim, slack, smtp, tmp_path)
        slack.script.append(SlackAnswer(stall=True))  # Slack takes the post, never answers
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "watcher", "check", "-c", str(cfg)],
                                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            assert slack.stalled.wait(30), proc.stderr.read() if proc.stderr else ""
            db = sqlite3.connect(tmp_path / "watcher.db")
            rows = db.execute("SELECT channel, status FROM deliveries ORDER BY id").fetchall()
            db.close()
            assert rows == [("team", "pending"), ("mail", "pending")]
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr:
                proc.stderr.close()
        assert slack.posts == [] and smtp.messages == []
        calls = len(sim.calls)
        started = time.monotonic()
        assert main(["check", "-c", str(cfg)]) == 0  # the restart: the outbox is delivered
        assert main(["check", "-c", str(cfg)]) == 0  # and nothing goes twice
        assert time.monotonic() - started < 10
        assert len(sim.calls) == calls  # history already has yesterday: no call
    assert len(slack.posts) == 1 and len(smtp.messages) == 1
    assert SPIKY in slack.posts[0]["blocks"][1]["text"]["text"]
    assert slack.attempts == 2  # the stalled post, then the one accepted
