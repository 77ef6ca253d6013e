"""Public entry points: Series in, Findings out, grouped by settings for vectorised judging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from watcher.detect.engine import (
    F64,
    I64,
    RULE_COLLAPSE,
    RULE_PURGE,
    RULE_SPIKE,
    RULE_SURGE,
    Verdicts,
)
from watcher.detect.parallel import judge_rows
from watcher.detect.settings import DetectSettings
from watcher.model import Direction, Finding, Series


def detect(series: Series, settings: DetectSettings) -> list[Finding]:
    """Every flagged day of one KOL's history, oldest first (walk-forward, causal)."""
    return detect_many([series], settings)[0]


def detect_many(
    series: Sequence[Series], settings: Sequence[DetectSettings] | DetectSettings
) -> list[list[Finding]]:
    """`detect` for many KOLs at once; KOLs sharing settings are judged as one numpy block."""
    per = [settings] * len(series) if isinstance(settings, DetectSettings) else list(settings)
    if len(per) != len(series):
        raise ValueError(f"{len(series)} series but {len(per)} settings")
    groups: dict[DetectSettings, list[int]] = {}
    for i, s in enumerate(per):
        groups.setdefault(s, []).append(i)
    out: list[list[Finding]] = [[] for _ in series]
    for s, idx in groups.items():
        block = [series[i] for i in idx]
        lengths = np.array([len(b.points) for b in block], dtype=np.int64)
        days = np.fromiter(
            (p.day.toordinal() for b in block for p in b.points), np.int64, int(lengths.sum())
        )
        totals = np.fromiter(
            (p.total for b in block for p in b.points), np.float64, int(lengths.sum())
        )
        found = detect_arrays([b.user_id for b in block], lengths, days, totals, s)
        for i, f in zip(idx, found, strict=True):
            out[i] = f
    return out


def detect_arrays(
    user_ids: Sequence[str],
    lengths: I64,
    days: I64,
    totals: F64,
    settings: DetectSettings,
    workers: int = 1,
) -> list[list[Finding]]:
    """`detect_many` on ragged arrays: KOL r owns the next lengths[r] (day ordinal, total) pairs.

    Each KOL's days must be ascending and unique, as in a Series. `workers` > 1 forks
    processes for big blocks: only for single-threaded callers such as `watcher backtest`.
    """
    matrix, starts = _matrix(lengths, days, totals)
    verdicts = judge_rows(matrix, settings, workers)
    rows, cols = np.nonzero(verdicts.flags)
    out: list[list[Finding]] = [[] for _ in user_ids]
    event_start = 0
    for r, j in zip(rows.tolist(), cols.tolist(), strict=True):
        flags = verdicts.flags[r]
        if j == 0 or flags[j - 1] != flags[j]:
            event_start = j
        out[r].append(
            _finding(user_ids[r], matrix[r], int(starts[r]), verdicts, r, j, event_start, settings)
        )
    return out


def _matrix(lengths: I64, days: I64, totals: F64) -> tuple[F64, I64]:
    """Totals as (kols, days), each row left-aligned at its own first day (NaN on missing days)."""
    n = len(lengths)
    ends = np.cumsum(lengths)
    firsts = ends - lengths
    has = lengths > 0
    starts = np.zeros(n, dtype=np.int64)
    if has.any():  # the minimum, not the first: a row out of order must not index backwards
        starts[has] = np.minimum.reduceat(days, firsts[has])
    row = np.repeat(np.arange(n), lengths)
    off = days - starts[row]
    width = int(off.max()) + 1 if len(off) else 1
    matrix = np.full((n, width), np.nan)
    matrix[row, off] = totals
    return matrix, starts


def _finding(
    user_id: str,
    totals: F64,
    start: int,
    v: Verdicts,
    row: int,
    j: int,
    ev: int,
    s: DetectSettings,
) -> Finding:
    inc = int(totals[j] - totals[j - 1])
    base = int(totals[j - 1])
    baseline = round(float(v.baseline[row, j]), 2)  # ratio is computed from what is shown
    score = float(v.score[row, j])
    direction: Direction = "spike" if v.flags[row, j] > 0 else "drop"
    ratio = inc / baseline if baseline > 0 else None
    pct = 100.0 * inc / base if base > 0 else 0.0
    rule = _rule(int(v.rules[row, j]), s)
    return Finding(
        user_id=user_id,
        day=dt.date.fromordinal(start + j),
        direction=direction,
        increment=inc,
        baseline=baseline,
        score=round(score, 2),
        ratio=None if ratio is None else round(ratio, 2),
        total=int(totals[j]),
        pct_of_base=round(pct, 4),
        rule=rule,
        event_start=dt.date.fromordinal(start + ev),
    )


def _rule(code: int, s: DetectSettings) -> str:
    if code == RULE_SPIKE:
        return (
            f"spike: score >= {s.threshold:g} (noise >= {s.noise_rel:g} x baseline), "
            f"change >= {s.min_abs} and >= {100 * s.min_rel:g}% of base"
        )
    if code == RULE_SURGE:
        return (
            f"spike/surge: score >= {s.surge_threshold:g} on consecutive days "
            f"(or right after a flagged spike), change >= {s.min_abs}"
        )
    if code == RULE_COLLAPSE:
        return (
            f"drop/collapse: gain <= {s.collapse_frac:g} x baseline for "
            f"{s.collapse_days}+ days in a row"
        )
    if code == RULE_PURGE:
        return (
            f"drop/purge: net loss >= {100 * s.purge_rel:g}% of base, "
            f"score <= -{s.purge_threshold:g}"
        )
    return (
        f"drop: score <= -{s.drop_threshold:g}, loss vs baseline >= {s.drop_min_abs} "
        f"and >= {100 * s.min_rel:g}% of base"
    )
