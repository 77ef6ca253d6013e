"""Detector settings: global in the config's `detect:` section, overridable per KOL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectSettings:
    """Every field is a config key under `detect:` (and `watchlist[i].detect:`)."""

    window: int = 28  # trailing days that form the baseline
    min_history: int = 7  # days of increments needed before any day is judged
    threshold: float = 6.0  # robust score needed to flag a day
    min_abs: int = 50  # smallest absolute change (followers) that may alert
    min_rel: float = 0.001  # smallest change as a fraction of the follower base
    noise_rel: float = 0.1  # noise scale is at least this fraction of the baseline gain
    directions: tuple[str, ...] = ("spike", "drop")  # which kinds of anomaly to report
    alert_window_days: int = 3  # only anomalies this recent are pushed as alerts
