"""Configuration: the YAML file, validated into frozen dataclasses."""

from watcher.config.load import ConfigError, Problem, load_config, parse_config
from watcher.config.model import (
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

__all__ = [
    "ApiConfig", "Channel", "Config", "ConfigError", "ConsoleChannel", "EmailChannel",
    "KolConfig", "NotifyConfig", "Problem", "Route", "ScheduleConfig", "SlackChannel",
    "StorageConfig",
    "load_config", "parse_config",
]
