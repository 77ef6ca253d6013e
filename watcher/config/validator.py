"""The validator's building blocks: problems with key paths and lines, typed lookups, checks."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.config.yamlsrc import Source

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


class Validator:
    """Collects problems (and warnings) while the config is read, naming key path and line."""

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
            self.error(key or "(top level)", f"must be a mapping, not {kind(value)}")
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
            self.error(path, f"must be {want}, not {kind(value)} {value!r}{hint}")
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

    def str_tuple(self, value: Any, k: str, name: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if name == "directions":
            for i, item in enumerate(items):
                if item not in ("spike", "drop"):
                    self.error(f"{k}[{i}]", f"must be spike or drop, not {item!r}")
        return tuple(str(i) for i in items)


def kind(value: Any) -> str:
    """How a value reads in a message: 'a mapping', 'a list', 'empty', or its type."""
    return {dict: "a mapping", list: "a list", type(None): "empty"}.get(
        type(value), type(value).__name__)


def one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    """A check that the value is one of `options`."""
    return lambda v: None if v in options else f"must be one of {', '.join(options)}, not {v!r}"


def at_least(n: int) -> Callable[[Any], str | None]:
    """A check that the value is `n` or more."""
    return lambda v: None if v >= n else f"must be at least {n}, not {v}"


def positive(v: float) -> str | None:
    """Checks return a problem message, or None when the value is fine."""
    return None if v > 0 else f"must be positive, not {v}"


def not_negative(v: float) -> str | None:
    """Zero or more."""
    return None if v >= 0 else f"must not be negative, not {v}"


def cooldown_check(v: str | int) -> str | None:
    """A duration, or 0 for no cooldown."""
    """A duration that may be zero (a cooldown of 0 turns the cooldown off)."""
    if v in (0, "0") or isinstance(v, str) and _DURATION.match(v.strip()):
        return None
    return duration_check(v)


def port(v: int) -> str | None:
    """A TCP port number."""
    return None if 0 < v < 65536 else f"is not a TCP port: {v}"


def url_problem(v: str) -> str | None:
    """An http(s) URL with a host."""
    return None if re.match(r"^https?://[^\s/]+", v) else f"must be an http(s) URL, not {v!r}"


def loopback(url: str) -> bool:
    """Whether a plain-HTTP URL stays on this machine (no warning needed)."""
    return re.match(r"^http://(127\.[0-9.]+|localhost|\[::1\])(:|/|$)", url) is not None


def user_id_problem(v: str) -> str | None:
    """A Xiaohongshu user id: 24 lowercase hex digits."""
    return None if USER_ID.match(v) else f"must be 24 lowercase hex digits, not {v!r}"


def timezone_problem(v: str) -> str | None:
    """An IANA timezone name."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone {v!r}"
    return None


def duration(v: str | int) -> float:
    """Seconds in a checked duration like 30s, 15m, 6h or 1d (a bare int is seconds)."""
    if isinstance(v, int):
        return float(v)
    m = _DURATION.match(v.strip())
    assert m is not None
    return float(m.group(1)) * _UNITS[m.group(2)]


def duration_check(v: str | int) -> str | None:
    """A positive duration like 30s, 15m, 6h or 1d."""
    if isinstance(v, int):
        return None if v > 0 else "must be positive"
    if not _DURATION.match(v.strip()):
        return f"must be a duration like 30s, 15m, 6h or 1d, not {v!r}"
    return None if duration(v) > 0 else "must be positive"


def cron_check(v: str) -> str | None:
    """A crontab expression, read as the daemon will read it (0 and 7 are Sunday)."""
    from watcher.schedule import cron_trigger

    try:
        cron_trigger(v, "UTC")
    except ValueError as exc:
        return f"is not a valid crontab expression ({exc})"
    return None
