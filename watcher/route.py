"""Routing: which channels an alert or notice goes to, and how alerts are grouped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.config import Config, KolConfig, Route
from watcher.model import Alert, rank


@dataclass(frozen=True)
class Batch:
    """What one route gets from one cycle: single alerts, or one digest of them."""

    route: Route
    alerts: tuple[Alert, ...]


def _default_route(cfg: Config) -> Route:
    return Route("default", tuple(c.name for c in cfg.channels))


def matches(route: Route, kol: KolConfig) -> bool:
    """Whether `route` takes this KOL's alerts: by user id or by any shared tag."""
    if route.ops:
        return False
    if route.catch_all:
        return True
    return kol.user_id in route.user_ids or bool(set(route.tags) & set(kol.tags))


def route_for(cfg: Config, kol: KolConfig) -> Route:
    """The first matching route, in config order; with none, every channel."""
    for route in cfg.notify.routes:
        if matches(route, kol):
            return route
    return _default_route(cfg)


def ops_channels(cfg: Config) -> tuple[str, ...]:
    """Where operational notices go: the `ops: true` route, else every channel."""
    for route in cfg.notify.routes:
        if route.ops:
            return route.channels
    return _default_route(cfg).channels


def batches(cfg: Config, alerts: Sequence[Alert]) -> list[Batch]:
    """Alerts grouped by the route each KOL takes, ranked within each route."""
    kols = {k.user_id: k for k in cfg.watchlist}
    by_route: dict[str, tuple[Route, list[Alert]]] = {}
    for alert in alerts:
        kol = kols.get(alert.user_id) or KolConfig(alert.user_id, alert.kol_name, alert.tags)
        route = route_for(cfg, kol)
        by_route.setdefault(route.name, (route, []))[1].append(alert)
    return [Batch(route, rank(items)) for route, items in by_route.values()]


def cooldown(cfg: Config) -> dt.timedelta:
    """The per-KOL cooldown as a timedelta."""
    return dt.timedelta(seconds=cfg.notify.cooldown_s)
