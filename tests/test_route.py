"""Routing: KOLs to channels by tag or user id, a default route, an ops route; validation."""

from __future__ import annotations

import dataclasses

import pytest

from watcher.config import ConfigError, parse_config
from watcher.config.model import Config
from watcher.render.sample import sample_alert
from watcher.route import batches, ops_channels, route_for

A, B, C = ("5b1f0c2e000000000100a1b2", "5b1f0c2e000000000100a1b3", "5b1f0c2e000000000100a1b4")
CHANNELS = """
  channels:
    - {name: beauty-team, type: console}
    - {name: vip, type: console}
    - {name: everyone, type: console}
    - {name: oncall, type: console}
"""
WATCHLIST = f"""
watchlist:
  - {{user_id: {A}, name: A, tags: [beauty, fashion]}}
  - {{user_id: {B}, name: B, tags: [food]}}
  - {{user_id: {C}, name: C}}
"""


def _cfg(routes: str) -> Config:
    return parse_config(f"api: {{token: t}}\nnotify:\n{CHANNELS}{routes}\n{WATCHLIST}")


def test_first_matching_route_wins_then_the_default() -> None:
    cfg = _cfg(f"""
  routes:
    - {{name: vips, user_ids: [{B}], channels: [vip]}}
    - {{name: beauty, tags: [beauty], channels: [beauty-team], group: digest}}
    - {{name: rest, channels: [everyone]}}
    - {{ops: true, channels: [oncall]}}
""")
    kols = {k.user_id: k for k in cfg.watchlist}
    assert route_for(cfg, kols[A]).name == "beauty"
    assert route_for(cfg, kols[B]).channels == ("vip",)
    assert route_for(cfg, kols[C]).name == "rest"
    assert ops_channels(cfg) == ("oncall",)


def test_without_routes_everything_goes_everywhere() -> None:
    cfg = _cfg("")
    everything = ("beauty-team", "vip", "everyone", "oncall")
    assert route_for(cfg, cfg.watchlist[0]).channels == everything
    assert ops_channels(cfg) == everything


def test_batches_group_by_route_and_rank_by_score() -> None:
    cfg = _cfg("""
  routes:
    - {name: beauty, tags: [beauty], channels: [beauty-team], group: digest}
    - {name: rest, channels: [everyone]}
""")
    base = sample_alert()

    def alert(uid: str, score: float):  # type: ignore[no-untyped-def]
        return dataclasses.replace(base, user_id=uid, finding=dataclasses.replace(
            base.finding, user_id=uid, score=score))

    out = batches(cfg, [alert(C, 7), alert(A, 9), alert(B, -20)])
    assert [(b.route.name, [a.user_id for a in b.alerts]) for b in out] == [
        ("rest", [B, C]), ("beauty", [A])]


@pytest.mark.parametrize("routes,message", [
    ("    - {channels: [nope]}", "routes[0].channels[0]: no channel named 'nope'"),
    ("    - {channels: [vip], group: weekly}", "group: must be one of each, digest"),
    (f"    - {{ops: true, tags: [x], user_ids: [{A}], channels: [vip]}}", "ops route"),
    ("    - {channels: [vip], user_ids: [abc]}", "24 lowercase hex digits"),
    ("    - {tags: [x]}", "routes[0].channels: is required"),
    ("    - {ops: true, channels: [vip]}\n    - {ops: true, channels: [oncall]}",
     "at most one route with ops: true"),
    ("    - {name: x, channels: [vip]}\n    - {name: x, channels: [oncall]}",
     "routes[1].name: duplicate route name 'x'"),
])
def test_bad_routes_are_reported_with_their_key(routes: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _cfg("  routes:\n" + routes)
    assert message in str(err.value)


def test_notify_keys_and_defaults() -> None:
    cfg = _cfg("  cooldown: 6h\n  stale_after_days: 5\n  failures_before_notice: 2")
    assert (cfg.notify.cooldown_s, cfg.notify.stale_after_days,
            cfg.notify.failures_before_notice) == (21600, 5, 2)
    assert _cfg("").notify.cooldown_s == 86400
    assert _cfg("  cooldown: 0").notify.cooldown_s == 0
    with pytest.raises(ConfigError, match="notify.templates_dir: is not a folder"):
        _cfg("  templates_dir: /nonexistent/templates")
    with pytest.raises(ConfigError, match="did you mean 'cooldown'"):
        _cfg("  cooldwn: 1h")


def test_health_notices_are_one_per_kind_naming_every_kol() -> None:
    import datetime as dt

    from watcher.health import notices

    cfg = _cfg("")
    y = dt.date(2025, 12, 7)
    old = y - dt.timedelta(days=5)
    out = notices(cfg, {A: old, B: old, C: y}, {A: 3, B: 1, C: 4}, {A: "HTTP 500"}, y)
    assert [n.title for n in out] == ["Polling 2 KOLs keeps failing", "No new data for 2 KOLs"]
    assert "The last 3 polls of A" in out[0].detail and "the latest: HTTP 500" in out[0].detail
    assert "B" in out[1].detail and "5 days behind" in out[1].detail
    (single,) = notices(cfg, {C: old}, {}, {}, y)
    assert single.title == "No new data for C" and single.key == f"stale:{C}"
    assert notices(cfg, {A: y - dt.timedelta(days=2)}, {A: 2}, {}, y) == []  # under thresholds
