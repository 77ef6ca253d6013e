"""Unicode sparklines of daily increments."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int | None], mark: int | None = None) -> str:
    """One bar per value; `None` (no data) is a space; `mark` is bracketed.

    The scale comes from the other days, so an anomaly does not flatten the usual pattern
    into one row of bottom bars: the marked day is drawn at the edge it went past."""
    known = [v for i, v in enumerate(values) if v is not None and i != mark]
    if mark is not None and not known and values[mark] is not None:
        known = [values[mark]]  # type: ignore[list-item]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for i, v in enumerate(values):
        if v is None:
            bar = " "
        elif span == 0:
            bar = BARS[-1] if v > hi else BARS[0] if v < lo else BARS[len(BARS) // 2]
        else:
            pos = min(max((v - lo) / span, 0.0), 1.0)
            bar = BARS[round(pos * (len(BARS) - 1))]
        out.append(f"[{bar}]" if i == mark else bar)
    return "".join(out)
