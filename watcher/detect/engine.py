"""Walk-forward robust detector, vectorised across KOLs (rows) and stepping through days."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watcher.detect.settings import DetectSettings

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]

MAD_TO_SD = 1.4826  # MAD of a normal sample times this estimates its standard deviation


@dataclass(frozen=True)
class Verdicts:
    """Per-day detector output for a block of KOLs; every array has shape (kols, days)."""

    flags: I8  # +1 spike, -1 drop, 0 not flagged
    baseline: F64  # expected increment (NaN where the day was not judged)
    score: F64  # (increment - baseline) / scale


def increments(totals: F64) -> F64:
    """Day-over-day change; NaN where either day is missing, so a post-gap day is never judged."""
    inc = np.full_like(totals, np.nan)
    inc[:, 1:] = totals[:, 1:] - totals[:, :-1]
    return inc


def _median_of_valid(x: F64) -> tuple[F64, npt.NDArray[np.intp]]:
    """Row medians ignoring NaN (np.sort puts NaN last), and each row's count of valid values."""
    s = np.sort(x, axis=1)
    k = np.count_nonzero(~np.isnan(x), axis=1)
    lo = np.maximum((k - 1) // 2, 0)
    hi = np.maximum(k // 2, 0)
    rows = np.arange(x.shape[0])
    med = np.where(k > 0, 0.5 * (s[rows, lo] + s[rows, hi]), np.nan)
    return med, k


def judge(totals: F64, s: DetectSettings) -> Verdicts:
    """Judge every day of every row causally: day j sees only days < j and its own increment."""
    inc = increments(totals)
    n, days = inc.shape
    clean = inc.copy()  # flagged days are removed so one anomaly does not mask the next
    flags = np.zeros((n, days), dtype=np.int8)
    baseline = np.full((n, days), np.nan)
    score = np.full((n, days), np.nan)
    want_spike = "spike" in s.directions
    want_drop = "drop" in s.directions
    for j in range(s.min_history + 1, days):
        win = clean[:, max(0, j - s.window) : j]
        med, k = _median_of_valid(win)
        mad, _ = _median_of_valid(np.abs(win - med[:, None]))
        # noise floor: Poisson-like sqrt(mean), and no series is more regular than noise_rel
        scale = np.maximum.reduce(
            [MAD_TO_SD * mad, np.sqrt(np.abs(med) + 1.0), s.noise_rel * np.abs(med)]
        )
        x = inc[:, j]
        judged = (k >= s.min_history) & ~np.isnan(x)
        dev = x - med
        z = dev / scale
        base = totals[:, j - 1]
        big = (np.abs(dev) >= s.min_abs) & (np.abs(dev) >= s.min_rel * base)
        spike = judged & big & (z >= s.threshold) & want_spike
        drop = judged & big & (z <= -s.threshold) & want_drop
        flags[spike, j] = 1
        flags[drop, j] = -1
        clean[spike | drop, j] = np.nan
        baseline[judged, j] = med[judged]
        score[judged, j] = z[judged]
    return Verdicts(flags, baseline, score)
