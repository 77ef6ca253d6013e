"""Event-level accuracy of watcher vs two baselines on the labelled corpus, and backtest speed.

Usage: .venv/bin/python -m bench.detection [--kols 1500] [--seeds 1 2 3] [--speed-kols 10000]
       .venv/bin/python -m bench.detection --grid '{"threshold": [7, 8]}'   (tuning seeds)

Four corpus kinds are scored: standard and harsh (stronger hard negatives) from
bench.corpus.generate, and alt and alt-small (bought 3-6x the usual gain) from
bench.corpus.generate_alt, built differently. Watcher's defaults were tuned on seeds 11 and
12 (alt only checked there after the method was settled); report other seeds.

Matching: a detected event (a run of consecutive same-direction flagged days) matches a
labelled event of the same direction if their day ranges overlap with 1 day of slack.
Each labelled event is matched by at most one detected event: recall counts labels
matched, precision counts detections that matched; a second detection overlapping the same
label (a fragment: "five alerts for one event") counts against precision.
FA/1k-hd = unmatched detected events on hard-negative KOLs (tagged, no labels) per 1000
of their KOL-days. Baselines are tuned on seeds disjoint from the reported ones.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.corpus import HARD_TAGS, Event, Kol, generate, generate_alt, write_jsonl
from watcher.backtest import run
from watcher.detect import DetectSettings, detect_many
from watcher.detect.engine import increments

warnings.filterwarnings("ignore", category=RuntimeWarning)  # all-NaN windows are expected

Flags = npt.NDArray[np.int8]
Method = Callable[[list[Kol]], Flags]
TUNE_SEEDS = (101, 102)


@dataclass(frozen=True)
class Score:
    """Event-level figures for one method over one corpus."""

    precision: float
    recall: float
    f1: float
    fa_hard: float  # false events per 1000 KOL-days on hard-negative KOLs
    n_labels: int
    n_detected: int
    n_fragments: int  # extra detected events overlapping an already-matched label


def totals_matrix(kols: Sequence[Kol]) -> npt.NDArray[np.float64]:
    """(kols, days) totals with NaN for missing days."""
    days = max(len(k.totals) for k in kols)
    m = np.full((len(kols), days), np.nan)
    for i, k in enumerate(kols):
        m[i, : len(k.totals)] = [np.nan if t is None else t for t in k.totals]
    return m


def watcher_method(settings: DetectSettings) -> Method:
    """Flags from the real detector, through the public API."""

    def flags(kols: list[Kol]) -> Flags:
        out = np.zeros((len(kols), max(len(k.totals) for k in kols)), dtype=np.int8)
        for i, (k, fs) in enumerate(
            zip(kols, detect_many([k.series() for k in kols], settings), strict=True)
        ):
            for f in fs:
                out[i, (f.day - k.start).days] = 1 if f.direction == "spike" else -1
        return out

    return flags


def _trailing(inc: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """(kols, days, window) view of the `window` increments before each day (NaN-padded)."""
    pad = np.full((inc.shape[0], window), np.nan)
    full = np.concatenate([pad, inc], axis=1)
    return np.lib.stride_tricks.sliding_window_view(full, window, axis=1)[:, :-1]


def elastalert_method(height: float, window: float, ref_min: float, cur_min: float) -> Method:
    """ElastAlert2 spike rule on daily gains: current day vs mean of the reference window."""

    def flags(kols: list[Kol]) -> Flags:
        inc = increments(totals_matrix(kols))
        with np.errstate(all="ignore"):
            ref = np.nanmean(_trailing(inc, int(window)), axis=2)
        enough = (
            np.count_nonzero(~np.isnan(_trailing(inc, int(window))), axis=2) >= int(window) // 2
        )
        ok = enough & ~np.isnan(inc) & (ref >= ref_min)
        up = ok & (inc >= height * ref) & (inc >= cur_min)
        down = ok & (inc <= ref / height) & (ref - inc >= cur_min)
        return np.asarray(up, dtype=np.int8) - np.asarray(down, dtype=np.int8)

    return flags


def zscore_method(threshold: float, window: float, min_abs: float) -> Method:
    """Rolling robust z-score: (x - trailing median) / (1.4826 * trailing MAD), with a floor."""

    def flags(kols: list[Kol]) -> Flags:
        inc = increments(totals_matrix(kols))
        win = _trailing(inc, int(window))
        with np.errstate(all="ignore"):
            med = np.nanmedian(win, axis=2)
            mad = np.nanmedian(np.abs(win - med[..., None]), axis=2)
        z = (inc - med) / np.maximum(1.4826 * mad, 1.0)
        ok = (np.count_nonzero(~np.isnan(win), axis=2) >= 7) & ~np.isnan(z)
        big = np.abs(inc - med) >= min_abs
        up, down = ok & big & (z >= threshold), ok & big & (z <= -threshold)
        return np.asarray(up, dtype=np.int8) - np.asarray(down, dtype=np.int8)

    return flags


def runs(row: Flags) -> list[tuple[int, int, int]]:
    """(first, last, sign) of each run of equal non-zero flags."""
    out: list[tuple[int, int, int]] = []
    for j in np.flatnonzero(row).tolist():
        v = int(row[j])
        if out and out[-1][1] == j - 1 and out[-1][2] == v:
            out[-1] = (out[-1][0], j, v)
        else:
            out.append((j, j, v))
    return out


def _match(d: tuple[int, int, int], e: Event) -> bool:
    sign = 1 if e.direction == "spike" else -1
    return d[2] == sign and d[0] <= e.last + 1 and d[1] >= e.first - 1


def score(kols: Sequence[Kol], flags: Flags) -> Score:
    """Event-level precision/recall/F1 (one detection per label) and hard-negative FAs."""
    n_lab = n_hit = n_det = n_good = n_frag = fa = hard_days = 0
    for k, row in zip(kols, flags, strict=True):
        dets = runs(row)
        used: set[int] = set()
        for e in k.events:
            hits = [i for i, d in enumerate(dets) if _match(d, e) and i not in used]
            n_hit += bool(hits)
            used.update(hits[:1])
            n_frag += len(hits[1:])  # a second alert for the same event is a false alarm
        n_lab += len(k.events)
        n_det += len(dets)
        n_good += len(used)
        if not k.events and k.tags & set(HARD_TAGS):
            fa += len(dets)
            hard_days += len(k.totals)
    p = n_good / n_det if n_det else 1.0
    r = n_hit / n_lab if n_lab else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Score(p, r, f1, 1000 * fa / max(hard_days, 1), n_lab, n_det, n_frag)


def pooled(kols_by_seed: Sequence[list[Kol]], method: Method) -> Score:
    """Score over several corpora at once (events and days pooled)."""
    kols = [k for ks in kols_by_seed for k in ks]
    flags = np.concatenate([method(ks) for ks in kols_by_seed])
    return score(kols, flags)


def tune(
    grid: Mapping[str, Sequence[float]], make: Callable[..., Method], corpora: list[list[Kol]]
) -> tuple[dict[str, float], Score]:
    """Best F1 over the grid (ties broken by fewer false alarms)."""
    best: tuple[float, float, dict[str, float], Score] | None = None
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        s = pooled(corpora, make(**params))
        key = (s.f1, -s.fa_hard)
        if best is None or key > best[:2]:
            best = (s.f1, -s.fa_hard, params, s)
    assert best is not None
    return best[2], best[3]


def breakdown(kols: Sequence[Kol], flags: Flags) -> str:
    """Watcher's recall by anomaly kind and false alarms by hard-negative tag."""
    lines = []
    kinds: dict[str, list[int]] = {}
    tags: dict[str, list[int]] = {t: [0, 0] for t in HARD_TAGS}
    for k, row in zip(kols, flags, strict=True):
        dets = runs(row)
        for e in k.events:
            hit = kinds.setdefault(e.kind, [0, 0])
            hit[0] += any(_match(d, e) for d in dets)
            hit[1] += 1
        if not k.events:
            for t in k.tags:
                tags[t][0] += len(dets)
                tags[t][1] += len(k.totals)
    lines.append(
        "  recall by kind: " + ", ".join(f"{kd} {h}/{n}" for kd, (h, n) in sorted(kinds.items()))
    )
    lines.append(
        "  FA/1k days by tag: "
        + ", ".join(f"{t} {1000 * fa / max(d, 1):.2f}" for t, (fa, d) in tags.items())
    )
    return "\n".join(lines)


CORPORA: dict[str, Callable[[int, int], list[Kol]]] = {
    "standard": lambda n, seed: generate(n, seed=seed),
    "harsh": lambda n, seed: generate(n, seed=seed, harsh=True),
    "alt": lambda n, seed: generate_alt(n, seed=seed),
    "alt-small": lambda n, seed: generate_alt(n, seed=seed, small=True),
}


def accuracy(n: int, seeds: Sequence[int], settings: DetectSettings, kind: str) -> None:
    """Print the method table for one corpus kind; baselines are tuned on TUNE_SEEDS first."""
    make = CORPORA[kind]
    tune_c = [make(n, s) for s in TUNE_SEEDS]
    eval_c = [make(n, s) for s in seeds]
    ea_grid = {
        "height": [2, 3, 4, 6, 8, 10],
        "window": [7, 14, 28],
        "ref_min": [0, 5, 20],
        "cur_min": [20, 50, 100, 200],
    }
    z_grid = {
        "threshold": [4, 6, 8, 10, 12, 14, 16],
        "window": [14, 28],
        "min_abs": [0, 20, 50, 100],
    }
    ea_params, _ = tune(ea_grid, elastalert_method, tune_c)
    z_params, _ = tune(z_grid, zscore_method, tune_c)
    methods: dict[str, Method] = {
        "watcher": watcher_method(settings),
        "elastalert2 spike": elastalert_method(**ea_params),
        "robust z-score": zscore_method(**z_params),
    }
    print(
        f"\n{kind} corpus: {n} KOLs x 90 days per seed, eval seeds {list(seeds)}, "
        f"baselines tuned on seeds {list(TUNE_SEEDS)}"
    )
    print(f"  elastalert2 params {ea_params}\n  z-score params {z_params}")
    print(
        f"{'method':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'FA/1k-hd':>9}"
        f" {'fragments':>9} {'per-seed F1':>20}"
    )
    all_k = [k for c in eval_c for k in c]
    notes = []
    for name, m in methods.items():
        flags = [m(c) for c in eval_c]
        s = score(all_k, np.concatenate(flags))
        per = " ".join(f"{score(c, f).f1:.3f}" for c, f in zip(eval_c, flags, strict=True))
        print(
            f"{name:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.fa_hard:>9.2f}"
            f" {s.n_fragments:>9} {per:>20}"
        )
        notes.append(f" {name}:\n" + breakdown(all_k, np.concatenate(flags)))
    print("\n".join(notes))


def speed(n: int, settings: DetectSettings) -> None:
    """Time backtest.run in-process (and the CLI if wired) against a json.loads-only baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        write_jsonl(generate(n, seed=7), path)
        size = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        with path.open() as fh:
            for line in fh:
                json.loads(line)
        t_json = time.perf_counter() - t0
        t0 = time.perf_counter()
        buf = io.StringIO()
        run(path, "json", buf, settings)
        t_run = time.perf_counter() - t0
        print(f"speed: {n} KOLs x 90 days, {size:.1f} MB JSONL")
        print(f"  json.loads only            {t_json:6.2f} s  (1.00x)")
        print(
            f"  backtest.run in-process    {t_run:6.2f} s  ({t_run / t_json:.2f}x), "
            f"{len(buf.getvalue().splitlines())} findings"
        )
        cli = Path(__file__).resolve().parent.parent / "watcher" / "cli.py"
        if cli.exists() and "backtest" in cli.read_text():
            cmd = [
                sys.executable,
                "-m",
                "watcher",
                "backtest",
                "--input",
                str(path),
                "--format",
                "json",
            ]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, env=os.environ.copy(), check=False)
            t_cli = time.perf_counter() - t0
            print(
                f"  python -m watcher backtest {t_cli:6.2f} s  ({t_cli / t_json:.2f}x), "
                f"exit {proc.returncode}"
            )
        else:
            print("  (watcher/cli.py has no backtest command yet; CLI not timed)")


WATCHER_TUNE_SEEDS = (11, 12)


def grid(spec: str, n: int) -> None:
    """Score each watcher setting combination of a JSON grid on the watcher tuning seeds."""
    values: dict[str, list[object]] = json.loads(spec)
    corpora = {k: [make(n, s) for s in WATCHER_TUNE_SEEDS] for k, make in CORPORA.items()}
    print(f"watcher grid on seeds {list(WATCHER_TUNE_SEEDS)}, {n} KOLs each: F1 / FA/1k-hd")
    for combo in itertools.product(*values.values()):
        changes = dict(zip(values, combo, strict=True))
        settings = DetectSettings(**changes)  # type: ignore[arg-type]
        cells = []
        for kind, cs in corpora.items():
            s = pooled(cs, watcher_method(settings))
            cells.append(f"{kind} {s.f1:.3f}/{s.fa_hard:.2f}")
        print(changes, " | ".join(cells), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the accuracy table and the speed test."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--kols", type=int, default=1500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--speed-kols", type=int, default=10_000)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--grid", metavar="JSON", help="tune instead: e.g. '{\"threshold\": [7, 8]}'")
    args = ap.parse_args(argv)
    if args.grid:
        grid(args.grid, args.kols)
        return 0
    settings = DetectSettings()
    for kind in CORPORA:
        accuracy(args.kols, args.seeds, settings, kind)
    if not args.no_speed:
        speed(args.speed_kols, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
