"""`watcher backtest`: replay saved API responses through the detector and print every finding."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import numpy as np
import numpy.typing as npt

from watcher.api.payload import PayloadError, parse_history
from watcher.detect import DetectSettings, detect_arrays
from watcher.model import Finding

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
PARALLEL_BYTES = 4_000_000  # below this, starting worker processes costs more than it saves


@dataclass
class Histories:
    """Parsed input as ragged arrays: KOL r owns the next lengths[r] (day ordinal, total) pairs."""

    user_ids: list[str]
    lengths: I64
    days: I64
    totals: F64


def run(
    input_path: Path, fmt: Literal["json", "table"], out: TextIO, settings: DetectSettings
) -> int:
    """Detect over a JSON Lines file of API bodies with a "userId"; 1 if a line was bad, 2 if
    the file cannot be read."""
    try:
        h, errors = load(input_path)
    except OSError as exc:
        print(f"{input_path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for msg in errors:
        print(msg, file=sys.stderr)
    found = detect_arrays(h.user_ids, h.lengths, h.days, h.totals, settings, os.cpu_count() or 1)
    findings = [f for fs in found for f in fs]
    if fmt == "json":
        write_json(findings, out)
    else:
        write_table(findings, out)
    return 1 if errors else 0


def load(input_path: Path) -> tuple[Histories, list[str]]:
    """Parse every line (in parallel for big files); one userId's lines merge, later wins a day."""
    size = input_path.stat().st_size
    workers = min(os.cpu_count() or 1, 8)
    jobs = _split(input_path, workers) if size >= PARALLEL_BYTES and workers > 1 else []
    if len(jobs) < 2:  # small file, one core, or one huge line
        parts = [_parse_range(str(input_path), 0, size, 1)]
    else:
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ctx.Pool(len(jobs) - 1) as pool:
            rest = pool.starmap_async(_parse_range, jobs[1:])
            parts = [_parse_range(*jobs[0]), *rest.get()]  # this process takes a share too
    return _merge(parts), [m for p in parts for m in p[4]]


Part = tuple[list[str], I64, I64, I64, list[str]]


def _split(path: Path, n: int) -> list[tuple[str, int, int, int]]:
    """(path, start, end, first line number) of n byte ranges cut at line ends."""
    data = path.read_bytes()
    jobs, pos, line = [], 0, 1
    for i in range(1, n + 1):
        end = len(data) if i == n else data.find(b"\n", len(data) * i // n)
        end = len(data) if end < 0 else end + (i < n)
        if end > pos:
            jobs.append((str(path), pos, end, line))
            line += data.count(b"\n", pos, end)
            pos = end
    return jobs


def _parse_range(name: str, start: int, end: int, first_line: int) -> Part:
    """Parse one byte range of the file (read here, so nothing big crosses a process pipe)."""
    with open(name, "rb") as fh:
        fh.seek(start)
        # a byte-order mark at the very start is not part of the first line's JSON
        text = fh.read(end - start).decode("utf-8-sig" if start == 0 else "utf-8", "replace")
    return _parse_chunk(text, first_line, name)


def _parse_chunk(text: str, first_line: int, name: str) -> Part:
    """Parse lines with the shared validator; return compact arrays so results pickle cheaply."""
    uids: list[str] = []
    lengths: list[int] = []
    days: list[int] = []
    totals: list[int] = []
    errors: list[str] = []
    for lineno, line in enumerate(text.split("\n"), first_line):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            if not isinstance(body, dict):
                raise PayloadError("line is not a JSON object")
            user_id = body.get("userId")
            if not isinstance(user_id, str) or not user_id:
                raise PayloadError("missing or empty userId")
            s = parse_history(user_id, body)
        except ValueError as exc:  # JSONDecodeError and PayloadError are ValueErrors
            errors.append(f"{name}:{lineno}: skipped: {exc}")
            continue
        uids.append(user_id)
        lengths.append(len(s.points))
        days.extend(p.day.toordinal() for p in s.points)
        totals.extend(p.total for p in s.points)
    return (
        uids,
        np.array(lengths, dtype=np.int64),
        np.array(days, dtype=np.int64),
        np.array(totals, dtype=np.int64),
        errors,
    )


def _merge(parts: list[Part]) -> Histories:
    """Concatenate chunks; a userId seen on several lines becomes one history (later line wins)."""
    uids = [u for p in parts for u in p[0]]
    lengths = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    days = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    totals = np.concatenate([p[3] for p in parts]).astype(np.float64) if parts else np.zeros(0)
    if len(set(uids)) == len(uids):
        return Histories(uids, lengths, days, totals)
    order: dict[str, dict[int, float]] = {}
    ends = np.cumsum(lengths)
    for uid, a, b in zip(uids, (ends - lengths).tolist(), ends.tolist(), strict=True):
        order.setdefault(uid, {}).update(zip(days[a:b].tolist(), totals[a:b].tolist(), strict=True))
    merged = [sorted(d.items()) for d in order.values()]
    return Histories(
        list(order),
        np.array([len(m) for m in merged], dtype=np.int64),
        np.array([d for m in merged for d, _ in m], dtype=np.int64),
        np.array([t for m in merged for _, t in m], dtype=np.float64),
    )


def write_json(findings: Iterable[Finding], out: TextIO) -> None:
    """One JSON object a line."""
    for f in findings:
        rec = {
            "userId": f.user_id,
            "date": f.day.isoformat(),
            "direction": f.direction,
            "increment": f.increment,
            "baseline": f.baseline,
            "score": f.score,
            "ratio": f.ratio,
            "total": f.total,
            "pct_of_base": f.pct_of_base,
            "event_start": f.event_start.isoformat(),
            "rule": f.rule,
        }
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")


_COLS = (
    "userId",
    "date",
    "event",
    "dir",
    "increment",
    "baseline",
    "ratio",
    "score",
    "total",
    "%base",
)


def write_table(findings: Iterable[Finding], out: TextIO) -> None:
    """A readable aligned table, one row per flagged day."""
    rows = [
        (
            f.user_id,
            f.day.isoformat(),
            f.event_start.isoformat(),
            f.direction,
            f"{f.increment:+,}",
            f"{f.baseline:+,.1f}",
            "-" if f.ratio is None else f"{f.ratio:.1f}x",
            f"{f.score:+.1f}",
            f"{f.total:,}",
            f"{f.pct_of_base:+.3f}%",
        )
        for f in findings
    ]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(_COLS)]
    left = {0, 1, 2, 3}
    for r in [_COLS, *rows]:
        cells = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    if not rows:
        out.write("no anomalies found\n")
