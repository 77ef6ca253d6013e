"""Public entry points: Series in, Findings out, grouped by settings for vectorised judging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from watcher.detect.engine import F64, RULE_COLLAPSE, RULE_SPIKE, Verdicts, judge
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
        totals, starts = _matrix(block)
        verdicts = judge(totals, s)
        for row, i in enumerate(idx):
            out[i] = _findings(block[row], totals[row], starts[row], verdicts, row, s)
    return out


def _matrix(block: Sequence[Series]) -> tuple[F64, list[int]]:
    """Totals as (kols, days), each row left-aligned at its own first day (NaN on missing days)."""
    starts = [s.points[0].day.toordinal() if s.points else 0 for s in block]
    offs = [[p.day.toordinal() - st for p in s.points] for s, st in zip(block, starts, strict=True)]
    width = max((o[-1] + 1 for o in offs if o), default=1)
    totals = np.full((len(block), width), np.nan)
    for row, (s, o) in enumerate(zip(block, offs, strict=True)):
        if o:
            totals[row, o] = [p.total for p in s.points]
    return totals, starts


def _findings(
    series: Series, totals: F64, start: int, v: Verdicts, row: int, s: DetectSettings
) -> list[Finding]:
    flags = v.flags[row]
    found: list[Finding] = []
    event_start = 0
    for j in np.flatnonzero(flags).tolist():
        if j == 0 or flags[j - 1] != flags[j]:
            event_start = j
        found.append(_finding(series.user_id, totals, start, v, row, j, event_start, s))
    return found


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
    baseline = float(v.baseline[row, j])
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
        baseline=round(baseline, 2),
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
    if code == RULE_COLLAPSE:
        return (
            f"drop/collapse: gain <= {s.collapse_frac:g} x baseline for "
            f"{s.collapse_days}+ days in a row"
        )
    return (
        f"drop: score <= -{s.drop_threshold:g}, loss vs baseline >= {s.drop_min_abs} "
        f"and >= {100 * s.min_rel:g}% of base"
    )
