"""Unicode sparklines of daily increments."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int | None], mark: int | None = None) -> str:
    """One bar per value scaled min..max; `None` (no data) is a space; `mark` is bracketed."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for i, v in enumerate(values):
        if v is None:
            bar = " "
        elif span == 0:
            bar = BARS[len(BARS) // 2]
        else:
            bar = BARS[round((v - lo) / span * (len(BARS) - 1))]
        out.append(f"[{bar}]" if i == mark else bar)
    return "".join(out)
