"""Human-readable text for a cycle's outcome: the per-KOL table and the call summary."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from watcher.cycle import CycleReport


def width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, cols: int) -> str:
    return text + " " * (cols - width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table."""
    widths = [max(width(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(_pad(str(h), w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(str(c), w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def format_cycle(report: CycleReport) -> str:
    """The per-KOL table, then one line of call counts and one of alerts."""
    rows = [(k.name, k.user_id, k.status, str(k.newest or "-"), str(k.calls), str(k.findings),
             k.reason) for k in report.kols]
    out = [table(("KOL", "user id", "status", "newest", "calls", "findings", "detail"), rows)]
    p = report.poll
    by_code = ", ".join(f"{label}: {n}" for label, n in sorted(p.calls.items())) or "none"
    out.append(f"\nAPI calls: {p.made} made, {p.calls.get('code 0', 0)} succeeded "
               f"({by_code}), {p.retries} retried; "
               f"{len(report.failed)} of {len(report.kols)} KOL(s) failed")
    if p.stop:
        out.append(f"Cycle stopped early: {p.stop.reason}")
    for notice in report.notices:
        out.append(f"Operational notice queued: {notice.title}")
    d = report.delivery
    out.append(f"Alerts: {len(report.alerts)} new; deliveries {len(d.sent)} sent, "
               f"{len(d.retrying)} to retry, {len(d.failed)} failed")
    for line in d.retrying + d.failed:
        out.append(f"  {line}")
    return "\n".join(out)
