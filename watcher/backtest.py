"""`watcher backtest`: replay saved API responses through the detector and print every finding."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TextIO

from watcher.api.payload import PayloadError, parse_history
from watcher.detect import DetectSettings, detect_many
from watcher.model import Finding, Point, Series


def run(
    input_path: Path, fmt: Literal["json", "table"], out: TextIO, settings: DetectSettings
) -> int:
    """Detect over a JSON Lines file of API bodies with a "userId"; return 1 if any line was bad."""
    series, bad = load(input_path, sys.stderr)
    findings = [f for fs in detect_many(series, settings) for f in fs]
    if fmt == "json":
        write_json(findings, out)
    else:
        write_table(findings, out)
    return 1 if bad else 0


def load(input_path: Path, err: TextIO) -> tuple[list[Series], int]:
    """Parse every line; one userId's lines merge (later wins a day). Bad lines go to `err`."""
    by_user: dict[str, dict[dt.date, int]] = {}
    bad = 0
    with input_path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
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
            except (ValueError, PayloadError) as exc:  # JSONDecodeError is a ValueError
                print(f"{input_path}:{lineno}: skipped: {exc}", file=err)
                bad += 1
                continue
            days = by_user.setdefault(user_id, {})
            for p in s.points:
                days[p.day] = p.total
    return [_series(uid, days) for uid, days in by_user.items()], bad


def _series(user_id: str, days: dict[dt.date, int]) -> Series:
    return Series(user_id, tuple(Point(d, t) for d, t in sorted(days.items())))


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
    "userId", "date", "event", "dir", "increment", "baseline", "ratio", "score", "total", "%base"
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
