"""Detector settings: global in the config's `detect:` section, overridable per KOL."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DetectSettings:
    """Every field is a config key under `detect:` (and `watchlist[i].detect:`)."""

    window: int = 42  # trailing days whose spread (quartiles, 90th pct) sets the noise scale
    level_window: int = 7  # trailing days whose median is the expected daily gain
    season_weeks: int = 8  # weeks of history for the weekday pattern (below 3 disables it)
    min_history: int = 7  # days of increments needed before any day is judged
    threshold: float = 7.5  # robust score a one-day spike must reach
    surge_threshold: float = 5.0  # two days in a row at this score also make a spike
    noise_rel: float = 0.35  # for spikes the noise scale is at least this share of the baseline
    min_abs: int = 30  # smallest gain over the baseline (followers) that may alert
    min_rel: float = 0.000005  # smallest change as a fraction of the follower base
    drop_threshold: float = 6.0  # robust score (magnitude) a drop must reach
    drop_noise_rel: float = 0.12  # for drops the noise scale is at least this share of baseline
    drop_min_abs: int = 10  # smallest loss against the baseline (followers) that may alert
    purge_rel: float = 0.001  # a net loss of this share of the base is a purge ...
    purge_threshold: float = 3.0  # ... once its robust score reaches this magnitude
    collapse_frac: float = 0.15  # a day gaining at most this share of the baseline is "low"
    collapse_days: int = 2  # this many low days in a row make a collapse-of-gain drop
    max_event_days: int = 10  # a run of flagged days this long is a new normal: re-baseline
    directions: tuple[str, ...] = ("spike", "drop")  # which kinds of anomaly to report
    alert_window_days: int = 3  # on a first poll, only anomalies this recent are pushed

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = _RANGES.get(f.name, (None, None))
            v = getattr(self, f.name)
            if lo is not None and not lo <= v <= hi:
                raise ValueError(f"{f.name} must be between {lo:g} and {hi:g}, not {v!r}")
        if self.level_window > self.window or self.min_history > self.window:
            raise ValueError("level_window and min_history must not exceed window")
        bad = [d for d in self.directions if d not in ("spike", "drop")]
        if bad:
            raise ValueError(f"directions may only hold spike and drop, not {bad[0]!r}")


_RANGES: dict[str, tuple[float, float]] = {
    "window": (7, 365),
    "level_window": (3, 365),
    "season_weeks": (0, 52),
    "min_history": (3, 365),
    "threshold": (0.5, 1e6),
    "surge_threshold": (0.5, 1e6),
    "noise_rel": (0, 100),
    "min_abs": (0, 1e12),
    "min_rel": (0, 1),
    "drop_threshold": (0.5, 1e6),
    "drop_noise_rel": (0, 100),
    "drop_min_abs": (0, 1e12),
    "purge_rel": (0, 1),
    "purge_threshold": (0.5, 1e6),
    "collapse_frac": (0, 1),
    "collapse_days": (1, 365),
    "max_event_days": (2, 365),
    "alert_window_days": (0, 3650),
}
