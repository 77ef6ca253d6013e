"""A sample alert and notice: what `watcher validate` renders and `test-notify` sends."""

from __future__ import annotations

import datetime as dt

from watcher.model import Alert, Digest, Finding, Notice, Point

_DAY = dt.date(2025, 12, 7)


def sample_alert() -> Alert:
    """A bought-follower spike on a mid-size account, with 30 days of history."""
    totals = [120_000 + 300 * i + (40 if i % 7 in (5, 6) else 0) for i in range(31)]
    totals[-1] = totals[-2] + 20_000
    points = tuple(Point(_DAY - dt.timedelta(days=30 - i), t) for i, t in enumerate(totals))
    finding = Finding(
        user_id="5b1f0c2e000000000100a1b2", day=_DAY, direction="spike", increment=20_000,
        baseline=300.0, score=42.0, ratio=20_000 / 300, total=totals[-1],
        pct_of_base=20_000 / totals[-2] * 100, rule="sample rule: test alert from watcher",
        event_start=_DAY)
    return Alert("Sample Creator (test alert)", finding.user_id, ("sample",), finding, points)


def sample_notice() -> Notice:
    """An operational notice like the one sent for a bad token."""
    return Notice("sample", "watcher test notice",
                  "This is a test of watcher's operational channel. No action needed.")


def sample_digest() -> Digest:
    """Two anomalies, ranked: the sample spike and a smaller purge-style drop."""
    spike = sample_alert()
    f = spike.finding
    drop_points = tuple(Point(p.day, 300_000 - 10 * i) for i, p in enumerate(spike.recent))
    drop_points = drop_points[:-1] + (Point(_DAY, drop_points[-2].total - 4_000),)
    drop = Alert("Another Creator", "5b1f0c2e000000000100a1b3", (), Finding(
        user_id="5b1f0c2e000000000100a1b3", day=_DAY, direction="drop", increment=-4_000,
        baseline=-10.0, score=-12.5, ratio=None, total=drop_points[-1].total,
        pct_of_base=-4_000 / drop_points[-2].total * 100,
        rule="sample rule: test alert from watcher", event_start=f.event_start), drop_points)
    return Digest("sample", (spike, drop))
