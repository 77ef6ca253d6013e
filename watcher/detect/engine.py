"""Walk-forward robust detector, vectorised across KOLs (rows) and stepping through days.

Day j's expected increment is a short robust level (median of the last `level_window`
clean, deseasonalised days) plus a shrunk weekday offset (median of that weekday over
`season_weeks` weeks minus the overall median). Follower noise is right-skewed (gamma-
Poisson), so a rise is scored against the upper spread of the trailing `window` (the
larger of Q3 - median and P90 - median, in sd units) and a fall against the lower one
(median - Q1), each floored by Poisson noise
and a share of the expected gain, and widened for short histories. Rules, in order:
spike (score >= threshold), surge (two days >= surge_threshold, or one right after a
spike), drop (score <= -drop_threshold), purge (a net loss of purge_rel of the base at
a smaller score), collapse (gain <= collapse_frac of expected for collapse_days). Absolute
and base-relative floors gate every rule. Flagged days leave the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watcher.detect.settings import DetectSettings

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]

SEASON_MIN = 4  # same-weekday values needed before a weekday offset is trusted
SEASON_SHRINK = 1.5  # offsets are shrunk by this many standard errors (noise is not pattern)
MAD_TO_SD = 1.4826  # MAD of a normal sample times this estimates its standard deviation
TREND_DAYS = 4.0  # the level is the median of 7 days: centred 4 days back, so project 4
TREND_SIG = 2.0  # ... but only a rise or fall beyond this many noise sd (not noise itself)
P90_TO_SD = 1.2816  # the 90th percentile of a normal sample is this many sd above its median
RARE_LOWS = 1  # a collapse needs the account's earlier days to have come that low at most once
RECUR = 0.5  # last week's same weekday at least this far out (as a share) vetoes the day
SMALL_SAMPLE = 3.0  # scores are divided by 1 + this / (days in the window): 1.4 at 7 days
RULE_SPIKE, RULE_DROP, RULE_COLLAPSE, RULE_PURGE, RULE_SURGE = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Verdicts:
    """Per-day detector output for a block of KOLs; every array has shape (kols, days)."""

    flags: I8  # +1 spike, -1 drop, 0 not flagged
    rules: I8  # which rule fired: RULE_SPIKE, _DROP, _COLLAPSE, _PURGE (0 = none)
    baseline: F64  # expected increment (NaN where the day was not judged)
    score: F64  # (increment - baseline) / scale


def increments(totals: F64) -> F64:
    """Day-over-day change; NaN where either day is missing, so a post-gap day is never judged."""
    inc = np.full_like(totals, np.nan)
    inc[:, 1:] = totals[:, 1:] - totals[:, :-1]
    return inc


def nanmedian(x: F64) -> tuple[F64, npt.NDArray[np.intp]]:
    """Median over the last axis ignoring NaN (np.sort puts NaN last), and the valid counts."""
    s = np.sort(x, axis=-1)
    k = np.count_nonzero(~np.isnan(x), axis=-1)
    return _mid(s, np.zeros_like(k), k), k


def _mid(s: F64, a: npt.NDArray[np.intp], m: npt.NDArray[np.intp]) -> F64:
    """Median of the sorted slice s[..., a : a + m] (NaN where m == 0)."""
    lo = (a + np.maximum(m - 1, 0) // 2)[..., None]
    hi = (a + m // 2)[..., None]
    hi = np.minimum(hi, s.shape[-1] - 1)
    med = 0.5 * (np.take_along_axis(s, lo, -1) + np.take_along_axis(s, hi, -1))[..., 0]
    return np.where(m > 0, med, np.nan)


def quartiles(x: F64) -> tuple[F64, F64, F64, F64, npt.NDArray[np.intp]]:
    """Row lower-half median, median, upper-half median and 90th percentile ignoring NaN."""
    s = np.sort(x, axis=-1)
    k = np.count_nonzero(~np.isnan(x), axis=-1)
    zero = np.zeros_like(k)
    q2 = _mid(s, zero, k)
    q1 = _mid(s, zero, (k + 1) // 2)
    q3 = _mid(s, k // 2, k - k // 2)
    i90 = np.clip((0.9 * (k - 1)).astype(np.intp), 0, s.shape[-1] - 1)
    p90 = np.where(k > 0, np.take_along_axis(s, i90[..., None], -1)[..., 0], np.nan)
    return q1, q2, q3, p90, k


def _lookback(a: F64, j: int, n: int) -> F64:
    """Columns j-n .. j-1 of `a`, NaN-padded on the left when j < n."""
    if j >= n:
        return a[:, j - n : j]
    out = np.full((a.shape[0], n), np.nan)
    out[:, n - j :] = a[:, :j]
    return out


def _season(inc: F64, j: int, s: DetectSettings) -> F64:
    """(rows, 7) additive weekday offsets from days before j; column p is for days i, i%7 == p."""
    rows = inc.shape[0]
    if s.season_weeks < 3:
        return np.zeros((rows, 7))
    # raw increments (flags ignored): a median over weeks already shrugs off one odd day
    raw = _lookback(inc, j, 7 * s.season_weeks).reshape(rows, s.season_weeks, 7)
    per_phase, count = nanmedian(np.swapaxes(raw, 1, 2))
    flat = raw.reshape(rows, -1)
    overall, _ = nanmedian(flat)
    spread, _ = nanmedian(np.abs(flat - overall[:, None]))
    off = per_phase - overall[:, None]
    # shrink towards no pattern by the offset's own sampling error (median of `count` draws)
    err = SEASON_SHRINK * 1.25 * MAD_TO_SD * spread[:, None] / np.sqrt(np.maximum(count, 1))
    off = np.sign(off) * np.maximum(np.abs(off) - err, 0.0)
    off = np.where((count >= SEASON_MIN) & ~np.isnan(off), off, 0.0)
    return np.roll(off, j % 7, axis=1)  # column q was the phase of day j + q


def judge(totals: F64, s: DetectSettings) -> Verdicts:
    """Judge every day of every row causally: day j sees only days < j and its own increment.

    Both directions are always judged (so the baseline never depends on `directions`);
    unwanted directions are dropped from the verdicts at the end.
    """
    inc = increments(totals)
    n, days = inc.shape
    clean = inc.copy()  # flagged days are removed so one anomaly does not mask the next
    flags = np.zeros((n, days), dtype=np.int8)
    rules = np.zeros((n, days), dtype=np.int8)
    baseline = np.full((n, days), np.nan)
    score = np.full((n, days), np.nan)
    w = s.window
    low_run = np.zeros(n, dtype=np.int64)  # consecutive days with the gain collapsed
    high_run = np.zeros(n, dtype=np.int64)  # consecutive days well above the baseline
    run = np.zeros(n, dtype=np.int64)  # length of the current run of same-direction flags
    season = np.zeros((n, 7))
    for j in range(s.min_history + 1, days):
        if j % 7 == 0 or j == s.min_history + 1:
            season = _season(inc, j, s)  # weekly is enough: the pattern moves slowly
        des = _lookback(clean, j, w) - season[:, np.arange(j - w, j) % 7]
        # follower noise is right-skewed (gamma-Poisson): judge each side by its own spread
        q1, med, q3, p90, k = quartiles(des)
        short, ks = nanmedian(des[:, w - s.level_window :])
        level = np.where(ks >= 3, short, med)
        expected = level + season[:, j % 7]
        # a rising (falling) trend lifts (lowers) the bar for spikes (drops), never the reverse:
        # slope from the medians of the last 3 clean days and the 4 before, projected to today
        recent, kr = nanmedian(des[:, w - 3 :])
        before, kb = nanmedian(des[:, w - 7 : w - 3])
        # days left out (flagged, missing) leave too little to tell a trend from noise
        rise = np.where((kr == 3) & (kb >= 3), np.nan_to_num(recent - before), 0.0)
        sigma = MAD_TO_SD * 0.5 * (q3 - q1)
        rise = np.where(np.abs(rise) > TREND_SIG * np.nan_to_num(sigma), rise, 0.0)
        slope = rise / 3.5 * TREND_DAYS
        exp_up = expected + np.maximum(slope, 0.0)
        exp_down = expected + np.minimum(slope, 0.0)
        # drops are judged against the lower of the short and the long level, so the tail of a
        # surge that lifted the short median cannot make an ordinary day look like a drop
        exp_down = np.minimum(exp_down, med + season[:, j % 7])
        poisson = np.sqrt(np.abs(level) + 1.0)
        # a spread from few days is itself uncertain: ask more of early days (t-like)
        small = 1.0 + SMALL_SAMPLE / np.maximum(k, 1)
        up_scale = small * np.maximum.reduce(
            [
                MAD_TO_SD * (q3 - med),
                (p90 - med) / P90_TO_SD,  # heavy right tails: the quartile alone is too tight
                poisson,
                s.noise_rel * np.abs(expected),
            ]
        )
        down_scale = small * np.maximum.reduce(
            [MAD_TO_SD * (med - q1), poisson, s.drop_noise_rel * np.abs(expected)]
        )
        x = inc[:, j]
        base = totals[:, j - 1]
        judged = (k >= s.min_history) & ~np.isnan(x)
        dev_up, dev_down = x - exp_up, x - exp_down
        z_up, z_down = dev_up / up_scale, dev_down / down_scale
        rel = s.min_rel * base

        # same weekday last week just as far out: a weekly pattern the offsets cannot see yet
        last_week = inc[:, j - 7] if j >= 7 else np.full(n, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            recurs_up = (last_week - exp_up) / dev_up >= RECUR
            recurs_down = (last_week - exp_down) / dev_down >= RECUR
        up_ok = judged & (dev_up >= np.maximum(s.min_abs, rel)) & ~recurs_up
        spike = up_ok & (z_up >= s.threshold)
        # two high days in a row are a surge (a multi-day burst or a viral climb); a high day
        # right after a flagged spike continues that event instead of re-entering the baseline
        high = up_ok & (z_up >= s.surge_threshold)
        high_run = np.where(high, high_run + 1, 0)
        surge = high & ((high_run >= 2) | (flags[:, j - 1] == 1)) & ~spike

        down_ok = judged & (-dev_down >= np.maximum(s.drop_min_abs, rel))
        sharp = down_ok & (z_down <= -s.drop_threshold) & ~recurs_down
        # a net loss of purge_rel of the base is a purge by definition; it only has to stand
        # out from the account's own downside noise, not reach the full drop threshold
        purge = down_ok & (x <= -s.purge_rel * base) & (z_down <= -s.purge_threshold) & ~sharp
        # a gain that collapses for days on end is a drop even when no single day is extreme
        # on an account whose ordinary days often come in that low, lows are no collapse
        prior = des[:, : w - s.collapse_days + 1]  # not the low days of the current run
        lows_seen = np.count_nonzero(prior <= s.collapse_frac * med[:, None], axis=1)
        low = (
            (lows_seen <= RARE_LOWS)
            & ~recurs_down
            & judged
            & (exp_down > 0)
            & (x <= s.collapse_frac * exp_down)
            & (-dev_down >= np.maximum(s.min_abs, rel))
        )
        low_run = np.where(low, low_run + 1, 0)
        collapse = low & (low_run >= s.collapse_days) & ~sharp & ~purge

        for mask, sign, rule in (
            (spike, 1, RULE_SPIKE),
            (surge, 1, RULE_SURGE),
            (sharp, -1, RULE_DROP),
            (purge, -1, RULE_PURGE),
            (collapse, -1, RULE_COLLAPSE),
        ):
            flags[mask, j] = sign
            rules[mask, j] = rule
        clean[flags[:, j] != 0, j] = np.nan
        # an "event" that lasts longer than max_event_days is a new normal: let its days back
        # into the baseline so the level adapts instead of alerting forever
        same = (flags[:, j] != 0) & (flags[:, j] == flags[:, j - 1])
        run = np.where(same, run + 1, (flags[:, j] != 0).astype(np.int64))
        settle = run >= s.max_event_days
        if settle.any():
            lo = max(0, j - s.max_event_days + 1)
            clean[settle, lo : j + 1] = inc[settle, lo : j + 1]
            run[settle] = 0
        # the earlier days of a surge or collapse were anomalous too: keep them out of the baseline
        clean[surge, j - 1] = np.nan
        clean[collapse, j - s.collapse_days + 1 : j] = np.nan
        up_side = x >= expected
        baseline[judged, j] = np.where(up_side, exp_up, exp_down)[judged]
        score[judged, j] = np.where(up_side, z_up, z_down)[judged]
    for sign, name in ((1, "spike"), (-1, "drop")):
        if name not in s.directions:
            rules[flags == sign] = 0
            flags[flags == sign] = 0
    return Verdicts(flags, rules, baseline, score)
