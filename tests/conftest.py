"""Shared fixtures: a fixed clock, the vendor simulator, and real receivers on loopback."""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.receivers import SlackReceiver, SmtpReceiver
from watcher.clock import FixedClock, beijing_today
from watcher.model import Point
from watcher.simulator import Simulator

TOKEN = "tok-SECRET-123"
SPIKY = "5b1f0c2e000000000100a1b2"
STEADY = "5b1f0c2e000000000100a1b3"

# aiosmtpd logs every connection at INFO once a test has set up watcher's logging
logging.getLogger("mail.log").setLevel(logging.WARNING)

# 10:00 in Beijing on 2025-12-08: the API serves days up to 2025-12-07
NOW = dt.datetime(2025, 12, 8, 2, 0, tzinfo=dt.UTC)


def steady_history(end: dt.date, days: int = 90, base: int = 50_000, gain: int = 200,
                   last_jump: int | None = None) -> list[Point]:
    """Days ending at `end` with a gently varying gain; optionally a jump on the last day."""
    points, total = [], base
    for i in range(days):
        day = end - dt.timedelta(days=days - 1 - i)
        total += gain + (i * 37) % 41 - 20
        if last_jump is not None and i == days - 1:
            total += last_jump
        points.append(Point(day, total))
    return points


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[Simulator]:
    yesterday = beijing_today(clock) - dt.timedelta(days=1)
    histories = {SPIKY: steady_history(yesterday, last_jump=20_000),
                 STEADY: steady_history(yesterday, base=80_000)}
    with Simulator(histories, token=TOKEN, today=lambda: beijing_today(clock)) as s:
        yield s


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    r = SlackReceiver()
    yield r
    r.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    yield r
    r.close()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a YAML config (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def full_config(write_config: Callable[[str], Path], sim: Simulator, slack: SlackReceiver,
                smtp: SmtpReceiver, tmp_path: Path) -> Path:
    """A config wired to the simulator, the Slack receiver and the SMTP receiver."""
    return write_config(f"""
        api:
          base_url: {sim.url}
          token: {TOKEN}
          max_rps: 50
        storage:
          path: {tmp_path / "watcher.db"}
        notify:
          channels:
            - name: team
              type: slack
              webhook_url: {slack.url}
            - name: mail
              type: email
              host: 127.0.0.1
              port: {smtp.port}
              security: none
              from: watcher@example.com
              to: [growth@example.com, lead@example.com]
        watchlist:
          - user_id: {SPIKY}
            name: "Spiky <!channel> & Co"
            tags: [beauty]
          - user_id: {STEADY}
            name: Steady Creator
        """)
