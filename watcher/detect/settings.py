"""Detector settings: global in the config's `detect:` section, overridable per KOL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectSettings:
    """Every field is a config key under `detect:` (and `watchlist[i].detect:`)."""

    window: int = 42  # trailing days whose spread (MAD) sets the noise scale
    level_window: int = 7  # trailing days whose median is the expected daily gain
    season_weeks: int = 8  # weeks of history for the weekday pattern (below 3 disables it)
    min_history: int = 7  # days of increments needed before any day is judged
    threshold: float = 8.0  # robust score a spike must reach
    surge_threshold: float = 5.0  # two days in a row at this score also make a spike
    drop_threshold: float = 6.0  # robust score (magnitude) a drop must reach
    min_abs: int = 30  # smallest change from the baseline (followers) that may alert
    purge_rel: float = 0.001  # a net loss of this share of the base is a purge ...
    purge_threshold: float = 3.0  # ... once its robust score reaches this magnitude
    drop_min_abs: int = 10  # smallest loss against the baseline (followers) that may alert
    min_rel: float = 0.00001  # smallest change as a fraction of the follower base
    collapse_frac: float = 0.15  # a day gaining at most this share of the baseline is "low"
    collapse_days: int = 2  # this many low days in a row make a collapse-of-gain drop
    noise_rel: float = 0.45  # for spikes the noise scale is at least this share of the baseline
    drop_noise_rel: float = 0.12  # for drops the noise scale is at least this share of the baseline
    directions: tuple[str, ...] = ("spike", "drop")  # which kinds of anomaly to report
    alert_window_days: int = 3  # only anomalies this recent are pushed as alerts
