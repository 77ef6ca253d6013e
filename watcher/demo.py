"""`watcher demo`: one real cycle against the bundled simulator, with nothing to set up."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TextIO

from watcher.app import build_app
from watcher.clock import SystemClock, newest_complete_day
from watcher.config import (
    ApiConfig,
    Config,
    ConsoleChannel,
    KolConfig,
    ScheduleConfig,
    StorageConfig,
)
from watcher.detect import DetectSettings
from watcher.notify.console import ConsoleNotifier
from watcher.report import format_cycle
from watcher.simulator import Simulator, demo_watchlist

TOKEN = "demo-token"


def demo_config(base_url: str, state: Path, today: dt.date) -> Config:
    """A config for the simulator's demo watchlist, with a console channel."""
    kols = tuple(KolConfig(k.user_id, k.name, k.tags) for k in demo_watchlist(today))
    return Config(api=ApiConfig(base_url=base_url, token=TOKEN, max_rps=20),
                  storage=StorageConfig(state / "watcher.db"), schedule=ScheduleConfig(),
                  channels=(ConsoleChannel(),), watchlist=kols, detect=DetectSettings(),
                  source="(demo)")


def run_demo(state: Path | None, out: TextIO) -> int:
    """Serve the demo KOLs on 127.0.0.1, poll them twice, print alerts and the summaries."""
    if state is None:
        with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp:
            return _demo(Path(tmp), out)
    state.mkdir(parents=True, exist_ok=True)
    return _demo(state, out)


def _demo(state: Path, out: TextIO) -> int:
    clock = SystemClock()
    today = newest_complete_day(clock) + dt.timedelta(days=1)
    histories = {k.user_id: k.points for k in demo_watchlist(today)}
    with Simulator(histories, token=TOKEN, today=lambda: today) as sim:
        cfg = demo_config(sim.url, state, today)
        app = build_app(cfg, clock=clock)
        app.notifiers = {"console": ConsoleNotifier("console", app.renderer, out)}
        try:
            out.write(f"watcher demo: simulated Just One API at {sim.url}, "
                      f"{len(cfg.watchlist)} KOLs, store {cfg.storage.path}\n\n")
            out.write("== Alerts delivered to the console channel ==\n\n")
            first = app.check()
            out.write("== Cycle summary ==\n" + format_cycle(first) + "\n\n")
            second = app.check()
            out.write(f"== Second cycle, same day ==\n{second.poll.made} API calls "
                      f"(the store already holds yesterday), {len(second.alerts)} new alerts\n")
        finally:
            app.close()
    return 0 if not first.failed else 1
