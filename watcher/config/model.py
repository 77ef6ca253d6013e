"""The validated configuration, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from watcher.detect.settings import DetectSettings

GLOBAL_URL = "https://api.justoneapi.com"
CN_URL = "http://47.117.133.51:30015"  # the vendor's Mainland China server: plain HTTP


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = GLOBAL_URL
    token: str = field(default="", repr=False)
    date_type: str = "DAY_30"  # window for KOLs that already have history
    first_date_type: str = "DAY_90"  # window for a KOL's first poll
    timeout_s: float = 60.0
    concurrency: int = 4
    max_rps: float = 2.0
    max_attempts: int = 3
    max_calls_per_day: int = 3  # billed calls per KOL per Beijing day while yesterday is late


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("/var/lib/watcher/watcher.db")


@dataclass(frozen=True)
class ScheduleConfig:
    cron: str | None = "0 10 * * *"
    every_s: float | None = None
    timezone: str = "Asia/Shanghai"
    jitter_s: float | None = None  # each run starts up to this much later, at random

    def describe(self) -> str:
        """One phrase for summaries and logs."""
        if self.every_s is not None:
            return f"every {self.every_s:g}s"
        return f"cron '{self.cron}' ({self.timezone})"


@dataclass(frozen=True)
class SlackChannel:
    name: str
    webhook_url: str = field(repr=False)
    type: str = "slack"
    min_interval_s: float = 1.0  # Slack allows about one message per second per webhook
    timeout_s: float = 15.0


@dataclass(frozen=True)
class EmailChannel:
    name: str
    host: str
    port: int
    security: str  # starttls | ssl | none
    sender: str
    to: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    type: str = "email"


@dataclass(frozen=True)
class ConsoleChannel:
    name: str = "console"
    type: str = "console"


Channel = SlackChannel | EmailChannel | ConsoleChannel


@dataclass(frozen=True)
class Route:
    """Which KOLs' alerts go to which channels; no tags and no user ids matches every KOL."""

    name: str
    channels: tuple[str, ...]
    tags: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    group: str = "each"  # each | digest (one message per cycle, ranked by score)
    ops: bool = False  # the route for operational notices, not for KOLs

    @property
    def catch_all(self) -> bool:
        return not self.ops and not self.tags and not self.user_ids


@dataclass(frozen=True)
class NotifyConfig:
    """The `notify` section apart from the channels: routing, noise control, templates."""

    routes: tuple[Route, ...] = ()
    cooldown_s: float = 86400.0  # per KOL: at most one alert in this long
    escalation: float = 1.5  # a continuing event alerts again at this many times the score
    templates_dir: Path | None = None
    stale_after_days: int = 3  # a KOL whose newest day lags yesterday this much: ops notice
    failures_before_notice: int = 3  # consecutive failed polls of a KOL: ops notice


@dataclass(frozen=True)
class KolConfig:
    user_id: str
    name: str
    tags: tuple[str, ...] = ()
    detect: DetectSettings = DetectSettings()


@dataclass(frozen=True)
class Config:
    api: ApiConfig
    storage: StorageConfig
    schedule: ScheduleConfig
    channels: tuple[Channel, ...]
    watchlist: tuple[KolConfig, ...]
    detect: DetectSettings
    source: str = "<memory>"
    notify: NotifyConfig = NotifyConfig()
    warnings: tuple[str, ...] = ()  # not errors: things the user should know they chose

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so logs and errors can redact them wherever they appear."""
        found = [self.api.token]
        for ch in self.channels:
            if isinstance(ch, SlackChannel):
                found.append(ch.webhook_url)
                # urllib3 and proxies log the path alone: /services/T.../B.../secret
                path = urlsplit(ch.webhook_url).path
                if len(path.strip("/")) >= 16:
                    found.append(path)
            elif isinstance(ch, EmailChannel) and ch.password:
                found.append(ch.password)
        return tuple(s for s in found if s)

    def summary(self) -> str:
        """The one-line summary `watcher validate` prints."""
        names = ", ".join(f"{c.name} ({c.type})" for c in self.channels)
        return (
            f"{self.source}: OK: {len(self.watchlist)} KOL(s), "
            f"{len(self.channels)} channel(s): {names}; schedule {self.schedule.describe()}"
        )
