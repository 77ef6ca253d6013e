"""Load and validate the YAML config, collecting every error with its key path and line."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml

from watcher.config import notify as notify_section
from watcher.config.model import (
    CN_URL,
    GLOBAL_URL,
    ApiConfig,
    Config,
    KolConfig,
    ScheduleConfig,
    StorageConfig,
)
from watcher.config.validator import (
    DATE_TYPES,
    Problem,
    Validator,
    at_least,
    cron_check,
    duration,
    duration_check,
    kind,
    loopback,
    one_of,
    positive,
    timezone_problem,
    url_problem,
    user_id_problem,
)
from watcher.config.yamlsrc import load_source
from watcher.detect.settings import DetectSettings

__all__ = ["ConfigError", "Problem", "load_config", "parse_config"]


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
    v = _Sections(src, Path(path).parent if path != "<memory>" else Path.cwd())
    cfg = v.config()
    if v.problems:
        raise ConfigError(path, v.problems)
    assert cfg is not None
    return cfg


class _Sections(Validator):
    """The top level and the sections other than notify."""

    # sections -------------------------------------------------------------------------------

    def config(self) -> Config | None:
        top = self.mapping(self.src.data, "", ("api", "storage", "schedule", "notify",
                                               "detect", "watchlist"))
        api = self.api(top.get("api"))
        storage = self.storage(top.get("storage"))
        schedule = self.schedule(top.get("schedule"))
        channels = notify_section.channels(self, top.get("notify"))
        detect = self.detect(top.get("detect"), "detect", DetectSettings())
        watchlist = self.watchlist(top.get("watchlist"), detect)
        notify = notify_section.notify(self, top.get("notify"), channels)
        return Config(api, storage, schedule, channels, watchlist, detect, self.src.path,
                      notify, warnings=tuple(f"{self.src.path}: {w}" for w in self.warnings))

    def api(self, raw: Any) -> ApiConfig:
        k = "api"
        d = self.mapping(raw, k, ("base_url", "region", "token", "token_file", "date_type",
                                  "first_date_type", "timeout_s", "concurrency", "max_rps",
                                  "max_attempts", "max_calls_per_day"))
        region = self.get(d, k, "region", str, None, one_of(("global", "cn")))
        base = self.get(d, k, "base_url", str, None, url_problem)
        if base is None:
            base = CN_URL if region == "cn" else GLOBAL_URL
        elif region is not None:
            self.error(f"{k}.region", "give region or base_url, not both")
        if base.startswith("http://") and not loopback(base):
            self.warn(f"{k}.region" if region else f"{k}.base_url",
                      f"{base} is plain HTTP: the token travels unencrypted")
        token = self.secret(d, k, "token")
        if not token:
            self.error(f"{k}.token", "is required (or token_file)")
        timeout = float(self.get(d, k, "timeout_s", (int, float), 60, positive))
        if timeout < 60:
            self.warn(f"{k}.timeout_s", f"{timeout:g}s is under the vendor's 60s: a call given "
                      "up early may still be billed")
        return ApiConfig(
            base_url=base.rstrip("/"),
            token=token or "",
            date_type=self.get(d, k, "date_type", str, "DAY_30", one_of(DATE_TYPES)),
            first_date_type=self.get(d, k, "first_date_type", str, "DAY_90",
                                     one_of(DATE_TYPES)),
            timeout_s=timeout,
            concurrency=self.get(d, k, "concurrency", int, 4, at_least(1)),
            max_rps=float(self.get(d, k, "max_rps", (int, float), 2, positive)),
            max_attempts=self.get(d, k, "max_attempts", int, 3, at_least(1)),
            max_calls_per_day=self.get(d, k, "max_calls_per_day", int, 3, at_least(1)),
        )

    def storage(self, raw: Any) -> StorageConfig:
        d = self.mapping(raw, "storage", ("path",))
        path = self.get(d, "storage", "path", str, None)
        return StorageConfig(self.resolve(path)) if path else StorageConfig()

    def schedule(self, raw: Any) -> ScheduleConfig:
        k = "schedule"
        d = self.mapping(raw, k, ("cron", "every", "timezone", "jitter"))
        tz = self.get(d, k, "timezone", str, "Asia/Shanghai", timezone_problem)
        every = self.get(d, k, "every", (str, int), None, duration_check)
        cron = self.get(d, k, "cron", str, None, cron_check)
        jitter = self.get(d, k, "jitter", (str, int), None, duration_check)
        jitter_s = duration(jitter) if jitter is not None else None
        if every is not None and cron is not None:
            self.error(f"{k}.every", "give cron or every, not both")
        if every is not None:
            return ScheduleConfig(cron=None, every_s=duration(every), timezone=tz,
                                  jitter_s=jitter_s)
        return ScheduleConfig(cron=cron or "0 10 * * *", timezone=tz, jitter_s=jitter_s)

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

    def watchlist(self, raw: Any, detect: DetectSettings) -> tuple[KolConfig, ...]:
        if raw is None:
            self.error("watchlist", "is required: a list of KOLs to watch")
            return ()
        if not isinstance(raw, list):
            self.error("watchlist", f"must be a list, not {kind(raw)}")
            return ()
        out: list[KolConfig] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(raw):
            k = f"watchlist[{i}]"
            d = self.mapping(item, k, ("user_id", "name", "tags", "detect"))
            if not isinstance(item, dict):
                continue
            self.require(d, k, "user_id")
            uid = self.get(d, k, "user_id", str, None, user_id_problem)
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


