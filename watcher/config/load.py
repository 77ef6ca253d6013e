"""Load and validate the YAML config, collecting every error with its key path and line."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from watcher.config.model import (
    CN_URL,
    GLOBAL_URL,
    ApiConfig,
    Channel,
    Config,
    ConsoleChannel,
    EmailChannel,
    KolConfig,
    NotifyConfig,
    Route,
    ScheduleConfig,
    SlackChannel,
    StorageConfig,
)
from watcher.config.yamlsrc import Source, load_source
from watcher.detect.settings import DetectSettings

NOTIFY_KEYS = ("channels", "routes", "cooldown", "escalation", "templates_dir",
               "stale_after_days", "failures_before_notice")
USER_ID = re.compile(r"^[0-9a-f]{24}$")
DATE_TYPES = ("DAY_30", "DAY_90")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclasses.dataclass(frozen=True)
class Problem:
    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key}: {self.message}"


class ConfigError(Exception):
    """The config is invalid; `problems` lists every error found."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Read, parse and validate a config file; raises ConfigError listing every problem."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [Problem("(file)", None, exc.strerror or str(exc))]) from None
    return parse_config(text, path, env)


def parse_config(text: str, path: str = "<memory>", env: dict[str, str] | None = None) -> Config:
    """Validate config text; relative paths in it are taken from the file's folder."""
    try:
        src = load_source(text, path, env)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, [Problem("(yaml)", line, str(exc).splitlines()[0])]) from None
    v = _Validator(src, Path(path).parent if path != "<memory>" else Path.cwd())
    cfg = v.config()
    if v.problems:
        raise ConfigError(path, v.problems)
    assert cfg is not None
    return cfg


class _Validator:
    def __init__(self, src: Source, base_dir: Path) -> None:
        self.src = src
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, self.src.line(key), message))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(Problem(key, self.src.line(key), message))

    def mapping(self, value: Any, key: str, allowed: typing.Iterable[str]) -> dict[str, Any]:
        """Check `value` is a mapping with known keys only; unknown keys get a hint."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(key or "(top level)", f"must be a mapping, not {_kind(value)}")
            return {}
        allowed = list(allowed)
        for k in value:
            child = f"{key}.{k}" if key else str(k)
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.error(child, f"unknown key{hint}; allowed: {', '.join(allowed)}")
        return value

    def get(self, data: dict[str, Any], key: str, name: str, typ: type | tuple[type, ...],
            default: Any, check: Callable[[Any], str | None] | None = None) -> Any:
        """Fetch `data[name]`, type-checked; a problem is recorded and `default` returned."""
        path = f"{key}.{name}" if key else name
        if path in self.src.missing_env:
            self.error(path, f"environment variable {self.src.missing_env[path]} is not set")
            return default
        if name not in data or data[name] is None:
            return default
        value = data[name]
        types = typ if isinstance(typ, tuple) else (typ,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            want = " or ".join(t.__name__ for t in types)
            hint = " (YAML read it as a number: put it in quotes)" if types == (str,) and \
                isinstance(value, int | float) else ""
            self.error(path, f"must be {want}, not {_kind(value)} {value!r}{hint}")
            return default
        if check is not None and (msg := check(value)):
            self.error(path, msg)
            return default
        return value

    def require(self, data: dict[str, Any], key: str, name: str) -> None:
        path = f"{key}.{name}" if key else name
        if data.get(name) in (None, "") and path not in self.src.missing_env:
            self.error(path, "is required")

    def secret(self, data: dict[str, Any], key: str, name: str) -> str | None:
        """A secret given literally (`name`) or as a file (`name_file`), newline stripped."""
        literal = self.get(data, key, name, str, None)
        file = self.get(data, key, f"{name}_file", str, None)
        if literal and file:
            self.error(f"{key}.{name}_file", f"give {name} or {name}_file, not both")
        if not file:
            return typing.cast(str | None, literal)
        try:
            return self.resolve(file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            self.error(f"{key}.{name}_file", f"cannot read {file}: {exc.strerror}")
            return None

    def resolve(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    # sections -------------------------------------------------------------------------------

    def config(self) -> Config | None:
        top = self.mapping(self.src.data, "", ("api", "storage", "schedule", "notify",
                                               "detect", "watchlist"))
        api = self.api(top.get("api"))
        storage = self.storage(top.get("storage"))
        schedule = self.schedule(top.get("schedule"))
        channels = self.channels(top.get("notify"))
        detect = self.detect(top.get("detect"), "detect", DetectSettings())
        watchlist = self.watchlist(top.get("watchlist"), detect)
        notify = self.notify(top.get("notify"), channels)
        return Config(api, storage, schedule, channels, watchlist, detect, self.src.path,
                      notify, warnings=tuple(f"{self.src.path}: {w}" for w in self.warnings))

    def api(self, raw: Any) -> ApiConfig:
        k = "api"
        d = self.mapping(raw, k, ("base_url", "region", "token", "token_file", "date_type",
                                  "first_date_type", "timeout_s", "concurrency", "max_rps",
                                  "max_attempts", "max_calls_per_day"))
        region = self.get(d, k, "region", str, None, _one_of(("global", "cn")))
        base = self.get(d, k, "base_url", str, None, _url)
        if base is None:
            base = CN_URL if region == "cn" else GLOBAL_URL
        elif region is not None:
            self.error(f"{k}.region", "give region or base_url, not both")
        if base.startswith("http://") and not _loopback(base):
            self.warn(f"{k}.region" if region else f"{k}.base_url",
                      f"{base} is plain HTTP: the token travels unencrypted")
        token = self.secret(d, k, "token")
        if not token:
            self.error(f"{k}.token", "is required (or token_file)")
        timeout = float(self.get(d, k, "timeout_s", (int, float), 60, _positive))
        if timeout < 60:
            self.warn(f"{k}.timeout_s", f"{timeout:g}s is under the vendor's 60s: a call given "
                      "up early may still be billed")
        return ApiConfig(
            base_url=base.rstrip("/"),
            token=token or "",
            date_type=self.get(d, k, "date_type", str, "DAY_30", _one_of(DATE_TYPES)),
            first_date_type=self.get(d, k, "first_date_type", str, "DAY_90",
                                     _one_of(DATE_TYPES)),
            timeout_s=timeout,
            concurrency=self.get(d, k, "concurrency", int, 4, _at_least(1)),
            max_rps=float(self.get(d, k, "max_rps", (int, float), 2, _positive)),
            max_attempts=self.get(d, k, "max_attempts", int, 3, _at_least(1)),
            max_calls_per_day=self.get(d, k, "max_calls_per_day", int, 3, _at_least(1)),
        )

    def storage(self, raw: Any) -> StorageConfig:
        d = self.mapping(raw, "storage", ("path",))
        path = self.get(d, "storage", "path", str, None)
        return StorageConfig(self.resolve(path)) if path else StorageConfig()

    def schedule(self, raw: Any) -> ScheduleConfig:
        k = "schedule"
        d = self.mapping(raw, k, ("cron", "every", "timezone", "jitter"))
        tz = self.get(d, k, "timezone", str, "Asia/Shanghai", _timezone)
        every = self.get(d, k, "every", (str, int), None, _duration_check)
        cron = self.get(d, k, "cron", str, None, _cron_check)
        jitter = self.get(d, k, "jitter", (str, int), None, _duration_check)
        jitter_s = _duration(jitter) if jitter is not None else None
        if every is not None and cron is not None:
            self.error(f"{k}.every", "give cron or every, not both")
        if every is not None:
            return ScheduleConfig(cron=None, every_s=_duration(every), timezone=tz,
                                  jitter_s=jitter_s)
        return ScheduleConfig(cron=cron or "0 10 * * *", timezone=tz, jitter_s=jitter_s)

    def channels(self, raw: Any) -> tuple[Channel, ...]:
        d = self.mapping(raw, "notify", NOTIFY_KEYS)
        items = self.get(d, "notify", "channels", list, [])
        out: list[Channel] = []
        names: set[str] = set()
        for i, item in enumerate(items):
            ch = self.channel(item, f"notify.channels[{i}]")
            if ch is None:
                continue
            if ch.name in names:
                self.error(f"notify.channels[{i}].name", f"duplicate channel name {ch.name!r}")
            names.add(ch.name)
            out.append(ch)
        return tuple(out) if out or items else (ConsoleChannel(),)

    def channel(self, raw: Any, k: str) -> Channel | None:
        if not isinstance(raw, dict):
            self.error(k, f"must be a mapping, not {_kind(raw)}")
            return None
        typ = self.get(raw, k, "type", str, None, _one_of(("slack", "email", "console")))
        self.require(raw, k, "name")
        name = self.get(raw, k, "name", str, "")
        if typ is None:
            self.require(raw, k, "type")
            return None
        if typ == "console":
            self.mapping(raw, k, ("name", "type"))
            return ConsoleChannel(name or "console")
        if typ == "slack":
            self.mapping(raw, k, ("name", "type", "webhook_url", "webhook_url_file",
                                  "min_interval_s", "timeout_s"))
            url = self.secret(raw, k, "webhook_url")
            if not url:
                self.error(f"{k}.webhook_url", "is required (or webhook_url_file)")
            elif _url(url):
                self.error(f"{k}.webhook_url", "must be an http(s) URL")
            return SlackChannel(
                name, url or "",
                min_interval_s=float(self.get(raw, k, "min_interval_s", (int, float), 1.0,
                                              _not_negative)),
                timeout_s=float(self.get(raw, k, "timeout_s", (int, float), 15, _positive)))
        self.mapping(raw, k, ("name", "type", "host", "port", "security", "username",
                              "password", "password_file", "from", "to", "timeout_s"))
        for req in ("host", "from", "to"):
            self.require(raw, k, req)
        security = self.get(raw, k, "security", str, "starttls",
                            _one_of(("starttls", "ssl", "none")))
        to = self.get(raw, k, "to", (list, str), [])
        to = [to] if isinstance(to, str) else to
        for j, addr in enumerate(to):
            if not isinstance(addr, str) or "@" not in addr or "\n" in addr:
                self.error(f"{k}.to[{j}]", f"is not an email address: {addr!r}")
        return EmailChannel(
            name=name,
            host=self.get(raw, k, "host", str, ""),
            port=self.get(raw, k, "port", int, 465 if security == "ssl" else 587,
                          _port),
            security=security,
            sender=self.get(raw, k, "from", str, ""),
            to=tuple(str(a) for a in to),
            username=self.get(raw, k, "username", str, None),
            password=self.secret(raw, k, "password"),
            timeout_s=float(self.get(raw, k, "timeout_s", (int, float), 30, _positive)),
        )

    def notify(self, raw: Any, channels: tuple[Channel, ...]) -> NotifyConfig:
        """Routes, cooldown, templates and health thresholds (the channels come first)."""
        k = "notify"
        d = raw if isinstance(raw, dict) else {}
        names = {c.name for c in channels}
        routes: list[Route] = []
        items = self.get(d, k, "routes", list, [])
        for i, item in enumerate(items):
            route = self.route(item, f"{k}.routes[{i}]", names)
            if route is None:
                continue
            if route.ops and any(r.ops for r in routes):
                self.error(f"{k}.routes[{i}].ops", "give at most one route with ops: true")
            elif route.name in {r.name for r in routes}:
                self.error(f"{k}.routes[{i}].name", f"duplicate route name {route.name!r}")
            routes.append(route)
        cooldown = self.get(d, k, "cooldown", (str, int), 86400, _duration_check0)
        templates = self.get(d, k, "templates_dir", str, None)
        templates_dir = self.resolve(templates) if templates else None
        if templates_dir is not None and not templates_dir.is_dir():
            self.error(f"{k}.templates_dir", f"is not a folder: {templates_dir}")
        return NotifyConfig(
            routes=tuple(routes),
            cooldown_s=0.0 if cooldown == "0" else _duration(cooldown),
            escalation=float(self.get(d, k, "escalation", (int, float), 1.5, _at_least(1))),
            templates_dir=templates_dir,
            stale_after_days=self.get(d, k, "stale_after_days", int, 3, _at_least(1)),
            failures_before_notice=self.get(d, k, "failures_before_notice", int, 3,
                                            _at_least(1)),
        )

    def route(self, raw: Any, k: str, channels: set[str]) -> Route | None:
        d = self.mapping(raw, k, ("name", "tags", "user_ids", "channels", "group", "ops"))
        if not isinstance(raw, dict):
            return None
        self.require(d, k, "channels")
        targets = self.str_tuple(self.get(d, k, "channels", (list, str), []), k, "channels")
        for j, ch in enumerate(targets):
            if ch not in channels:
                close = difflib.get_close_matches(ch, sorted(channels), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.error(f"{k}.channels[{j}]", f"no channel named {ch!r}{hint}")
        user_ids = self.str_tuple(self.get(d, k, "user_ids", (list, str), []), k, "user_ids")
        for j, uid in enumerate(user_ids):
            if msg := _user_id(uid):
                self.error(f"{k}.user_ids[{j}]", msg)
        ops = self.get(d, k, "ops", bool, False)
        tags = self.str_tuple(self.get(d, k, "tags", (list, str), []), k, "tags")
        if ops and (tags or user_ids):
            self.error(f"{k}.ops", "an ops route carries notices only: drop tags and user_ids")
        return Route(
            name=self.get(d, k, "name", str, "ops" if ops else
                          f"route {int(k.rpartition('[')[2].rstrip(']')) + 1}"),
            channels=targets, tags=tags, user_ids=user_ids, ops=ops,
            group=self.get(d, k, "group", str, "each", _one_of(("each", "digest"))),
        )

    def detect(self, raw: Any, k: str, base: DetectSettings) -> DetectSettings:
        fields = dataclasses.fields(DetectSettings)
        d = self.mapping(raw, k, [f.name for f in fields])
        hints = typing.get_type_hints(DetectSettings)
        changes: dict[str, Any] = {}
        for f in fields:
            if f.name not in d:
                continue
            hint = hints[f.name]
            if hint is float:
                value = self.get(d, k, f.name, (int, float), None)
                if value is not None:
                    changes[f.name] = float(value)
            elif typing.get_origin(hint) is tuple:
                value = self.get(d, k, f.name, (list, str), None)
                if value is not None:
                    changes[f.name] = self.str_tuple(value, f"{k}.{f.name}", f.name)
            else:
                value = self.get(d, k, f.name, hint, None)
                if value is not None:
                    changes[f.name] = value
        try:
            return dataclasses.replace(base, **changes)
        except (TypeError, ValueError) as exc:  # DetectSettings may check ranges itself
            self.error(k, str(exc))
            return base

    def str_tuple(self, value: Any, k: str, name: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if name == "directions":
            for i, item in enumerate(items):
                if item not in ("spike", "drop"):
                    self.error(f"{k}[{i}]", f"must be spike or drop, not {item!r}")
        return tuple(str(i) for i in items)

    def watchlist(self, raw: Any, detect: DetectSettings) -> tuple[KolConfig, ...]:
        if raw is None:
            self.error("watchlist", "is required: a list of KOLs to watch")
            return ()
        if not isinstance(raw, list):
            self.error("watchlist", f"must be a list, not {_kind(raw)}")
            return ()
        out: list[KolConfig] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(raw):
            k = f"watchlist[{i}]"
            d = self.mapping(item, k, ("user_id", "name", "tags", "detect"))
            if not isinstance(item, dict):
                continue
            self.require(d, k, "user_id")
            uid = self.get(d, k, "user_id", str, None, _user_id)
            if uid is None:
                continue
            if uid in seen:
                self.error(f"{k}.user_id", f"duplicate of watchlist[{seen[uid]}]")
                continue
            seen[uid] = i
            tags = self.get(d, k, "tags", (list, str), [])
            out.append(KolConfig(
                user_id=uid,
                name=self.get(d, k, "name", str, uid),
                tags=tuple(str(t) for t in ([tags] if isinstance(tags, str) else tags)),
                detect=self.detect(d.get("detect"), f"{k}.detect", detect),
            ))
        return tuple(out)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "empty"}.get(
        type(value), type(value).__name__)


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"must be one of {', '.join(options)}, not {v!r}"


def _at_least(n: int) -> Callable[[Any], str | None]:
    return lambda v: None if v >= n else f"must be at least {n}, not {v}"


def _positive(v: float) -> str | None:
    return None if v > 0 else f"must be positive, not {v}"


def _not_negative(v: float) -> str | None:
    return None if v >= 0 else f"must not be negative, not {v}"


def _duration_check0(v: str | int) -> str | None:
    """A duration that may be zero (a cooldown of 0 turns the cooldown off)."""
    if v in (0, "0") or isinstance(v, str) and _DURATION.match(v.strip()):
        return None
    return _duration_check(v)


def _port(v: int) -> str | None:
    return None if 0 < v < 65536 else f"is not a TCP port: {v}"


def _url(v: str) -> str | None:
    return None if re.match(r"^https?://[^\s/]+", v) else f"must be an http(s) URL, not {v!r}"


def _loopback(url: str) -> bool:
    return re.match(r"^http://(127\.[0-9.]+|localhost|\[::1\])(:|/|$)", url) is not None


def _user_id(v: str) -> str | None:
    return None if USER_ID.match(v) else f"must be 24 lowercase hex digits, not {v!r}"


def _timezone(v: str) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone {v!r}"
    return None


def _duration(v: str | int) -> float:
    if isinstance(v, int):
        return float(v)
    m = _DURATION.match(v.strip())
    assert m is not None
    return float(m.group(1)) * _UNITS[m.group(2)]


def _duration_check(v: str | int) -> str | None:
    if isinstance(v, int):
        return None if v > 0 else "must be positive"
    if not _DURATION.match(v.strip()):
        return f"must be a duration like 30s, 15m, 6h or 1d, not {v!r}"
    return None if _duration(v) > 0 else "must be positive"


def _cron_check(v: str) -> str | None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(v)
    except ValueError as exc:
        return f"is not a valid crontab expression ({exc})"
    return None
