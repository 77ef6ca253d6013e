"""`watcher demo`: offline, shows a spike and a drop, and a second cycle makes no call."""

from __future__ import annotations

import io
from pathlib import Path

from watcher.demo import run_demo


def test_demo_shows_spike_and_drop_and_keeps_state(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(tmp_path, out) == 0
    text = out.getvalue()
    assert "Follower spike" in text and "Follower drop" in text
    assert "0 API calls" in text  # the second, same-day cycle
    assert (tmp_path / "watcher.db").exists()
