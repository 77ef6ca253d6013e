"""The `notify` section: channels, routes, noise control and templates."""

from __future__ import annotations

import difflib
from typing import Any

from watcher.config.model import (
    Channel,
    ConsoleChannel,
    EmailChannel,
    NotifyConfig,
    Route,
    SlackChannel,
)
from watcher.config.validator import (
    Validator,
    at_least,
    cooldown_check,
    duration,
    kind,
    not_negative,
    one_of,
    port,
    positive,
    url_problem,
    user_id_problem,
)

NOTIFY_KEYS = ("channels", "routes", "cooldown", "escalation", "templates_dir",
               "stale_after_days", "failures_before_notice")


def channels(v: Validator, raw: Any) -> tuple[Channel, ...]:
    d = v.mapping(raw, "notify", NOTIFY_KEYS)
    items = v.get(d, "notify", "channels", list, [])
    out: list[Channel] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        ch = channel(v, item, f"notify.channels[{i}]")
        if ch is None:
            continue
        if ch.name in names:
            v.error(f"notify.channels[{i}].name", f"duplicate channel name {ch.name!r}")
        names.add(ch.name)
        out.append(ch)
    return tuple(out) if out or items else (ConsoleChannel(),)


def channel(v: Validator, raw: Any, k: str) -> Channel | None:
    if not isinstance(raw, dict):
        v.error(k, f"must be a mapping, not {kind(raw)}")
        return None
    typ = v.get(raw, k, "type", str, None, one_of(("slack", "email", "console")))
    v.require(raw, k, "name")
    name = v.get(raw, k, "name", str, "")
    if typ is None:
        v.require(raw, k, "type")
        return None
    if typ == "console":
        v.mapping(raw, k, ("name", "type"))
        return ConsoleChannel(name or "console")
    if typ == "slack":
        v.mapping(raw, k, ("name", "type", "webhook_url", "webhook_url_file",
                              "min_interval_s", "timeout_s"))
        url = v.secret(raw, k, "webhook_url")
        if not url:
            v.error(f"{k}.webhook_url", "is required (or webhook_url_file)")
        elif url_problem(url):
            v.error(f"{k}.webhook_url", "must be an http(s) URL")
        return SlackChannel(
            name, url or "",
            min_interval_s=float(v.get(raw, k, "min_interval_s", (int, float), 1.0,
                                          not_negative)),
            timeout_s=float(v.get(raw, k, "timeout_s", (int, float), 15, positive)))
    v.mapping(raw, k, ("name", "type", "host", "port", "security", "username",
                          "password", "password_file", "from", "to", "timeout_s"))
    for req in ("host", "from", "to"):
        v.require(raw, k, req)
    security = v.get(raw, k, "security", str, "starttls",
                        one_of(("starttls", "ssl", "none")))
    to = v.get(raw, k, "to", (list, str), [])
    to = [to] if isinstance(to, str) else to
    for j, addr in enumerate(to):
        if not isinstance(addr, str) or "@" not in addr or "\n" in addr:
            v.error(f"{k}.to[{j}]", f"is not an email address: {addr!r}")
    return EmailChannel(
        name=name,
        host=v.get(raw, k, "host", str, ""),
        port=v.get(raw, k, "port", int, 465 if security == "ssl" else 587,
                      port),
        security=security,
        sender=v.get(raw, k, "from", str, ""),
        to=tuple(str(a) for a in to),
        username=v.get(raw, k, "username", str, None),
        password=v.secret(raw, k, "password"),
        timeout_s=float(v.get(raw, k, "timeout_s", (int, float), 30, positive)),
    )


def notify(v: Validator, raw: Any, channels: tuple[Channel, ...]) -> NotifyConfig:
    """Routes, cooldown, templates and health thresholds (the channels come first)."""
    k = "notify"
    d = raw if isinstance(raw, dict) else {}
    names = {c.name for c in channels}
    routes: list[Route] = []
    items = v.get(d, k, "routes", list, [])
    for i, item in enumerate(items):
        r = route(v, item, f"{k}.routes[{i}]", names)
        if r is None:
            continue
        if r.ops and any(x.ops for x in routes):
            v.error(f"{k}.routes[{i}].ops", "give at most one route with ops: true")
        elif r.name in {x.name for x in routes}:
            v.error(f"{k}.routes[{i}].name", f"duplicate route name {r.name!r}")
        routes.append(r)
    cooldown = v.get(d, k, "cooldown", (str, int), 86400, cooldown_check)
    templates = v.get(d, k, "templates_dir", str, None)
    templates_dir = v.resolve(templates) if templates else None
    if templates_dir is not None and not templates_dir.is_dir():
        v.error(f"{k}.templates_dir", f"is not a folder: {templates_dir}")
    return NotifyConfig(
        routes=tuple(routes),
        cooldown_s=0.0 if cooldown == "0" else duration(cooldown),
        escalation=float(v.get(d, k, "escalation", (int, float), 1.5, at_least(1))),
        templates_dir=templates_dir,
        stale_after_days=v.get(d, k, "stale_after_days", int, 3, at_least(1)),
        failures_before_notice=v.get(d, k, "failures_before_notice", int, 3,
                                        at_least(1)),
    )


def route(v: Validator, raw: Any, k: str, channels: set[str]) -> Route | None:
    d = v.mapping(raw, k, ("name", "tags", "user_ids", "channels", "group", "ops"))
    if not isinstance(raw, dict):
        return None
    v.require(d, k, "channels")
    targets = v.str_tuple(v.get(d, k, "channels", (list, str), []), k, "channels")
    for j, ch in enumerate(targets):
        if ch not in channels:
            close = difflib.get_close_matches(ch, sorted(channels), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            v.error(f"{k}.channels[{j}]", f"no channel named {ch!r}{hint}")
    user_ids = v.str_tuple(v.get(d, k, "user_ids", (list, str), []), k, "user_ids")
    for j, uid in enumerate(user_ids):
        if msg := user_id_problem(uid):
            v.error(f"{k}.user_ids[{j}]", msg)
    ops = v.get(d, k, "ops", bool, False)
    tags = v.str_tuple(v.get(d, k, "tags", (list, str), []), k, "tags")
    if ops and (tags or user_ids):
        v.error(f"{k}.ops", "an ops route carries notices only: drop tags and user_ids")
    return Route(
        name=v.get(d, k, "name", str, "ops" if ops else
                      f"route {int(k.rpartition('[')[2].rstrip(']')) + 1}"),
        channels=targets, tags=tags, user_ids=user_ids, ops=ops,
        group=v.get(d, k, "group", str, "each", one_of(("each", "digest"))),
    )
