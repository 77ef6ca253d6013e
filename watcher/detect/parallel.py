"""Judge a large block of KOLs on several cores: rows are independent, so split them."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os

import numpy as np

from watcher.detect.engine import F64, Verdicts, judge
from watcher.detect.settings import DetectSettings

MIN_ROWS = 2000  # below this a worker process costs more than it saves

_shared: F64 | None = None  # the block, inherited by forked workers instead of pickled


def judge_rows(totals: F64, s: DetectSettings, workers: int) -> Verdicts:
    """`judge`, with rows split over `workers` processes when that pays (fork only).

    Only for single-threaded callers such as `watcher backtest`: forking a threaded daemon
    is unsafe, so the daemon calls `judge` directly.
    """
    n = totals.shape[0]
    if workers < 2 or n < MIN_ROWS or "fork" not in multiprocessing.get_all_start_methods():
        return judge(totals, s)
    global _shared
    _shared = totals
    cuts = np.linspace(0, n, min(workers, os.cpu_count() or 1) + 1).astype(int).tolist()
    jobs = [(a, b, s) for a, b in zip(cuts[1:-1], cuts[2:], strict=True)]
    try:
        with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
            rest = pool.starmap_async(_judge_slice, jobs)
            parts = [judge(totals[cuts[0] : cuts[1]], s), *rest.get()]  # this process helps
    finally:
        _shared = None
    return Verdicts(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(Verdicts)
        }
    )


def _judge_slice(a: int, b: int, s: DetectSettings) -> Verdicts:
    assert _shared is not None
    return judge(_shared[a:b], s)
