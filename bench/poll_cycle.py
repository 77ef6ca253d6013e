"""One poll cycle over many KOLs against the simulator with real latency and a rate limit.

Usage: .venv/bin/python -m bench.poll_cycle [--kols 200] [--rps 10] [--concurrency 4]
                                            [--latency 0.3 0.5] [--naive-sample 40]

Prints the cycle's wall time as a ratio to the limit the server allows,
max(N / max_rps, N x mean latency / concurrency), and to a naive sequential loop (one
requests.get after another, measured in the same run on a sample of KOLs and scaled to N,
since the full loop would take N x latency).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import requests

from watcher.api.client import PATH
from watcher.app import build_app
from watcher.clock import SystemClock, newest_complete_day
from watcher.config import ApiConfig, Config, KolConfig, ScheduleConfig, StorageConfig
from watcher.detect import DetectSettings
from watcher.model import Point
from watcher.simulator import Simulator

TOKEN = "bench-token"


def _histories(n: int, yesterday: dt.date) -> dict[str, list[Point]]:
    return {
        f"8{i:023x}": [
            Point(yesterday - dt.timedelta(days=89 - d), 10_000 + 50 * d) for d in range(90)
        ]
        for i in range(n)
    }


def naive(url: str, ids: list[str]) -> float:
    """Seconds for a plain sequential loop, one fresh request after another."""
    start = time.perf_counter()
    for uid in ids:
        requests.get(
            url + PATH,
            params={
                "token": TOKEN,
                "userId": uid,
                "dateType": "DAY_90",
                "increaseType": "FANS_TOTAL",
            },
            timeout=60,
        )
    return time.perf_counter() - start


def watcher_cycle(
    url: str, ids: list[str], rps: float, concurrency: int, state: Path
) -> tuple[float, int, int, int]:
    """Seconds for one watcher cycle, KOLs failed, calls made, 302 answers."""
    cfg = Config(
        api=ApiConfig(base_url=url, token=TOKEN, max_rps=rps, concurrency=concurrency),
        storage=StorageConfig(state / "bench.db"),
        schedule=ScheduleConfig(),
        channels=(),
        watchlist=tuple(KolConfig(u, u) for u in ids),
        detect=DetectSettings(),
        source="(bench)",
    )
    app = build_app(cfg, notifiers={})
    start = time.perf_counter()
    report = app.check()
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed, len(report.failed), report.poll.made, report.poll.calls.get("code 302", 0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kols", type=int, default=200)
    p.add_argument("--rps", type=float, default=10.0, help="server's limit and watcher's max_rps")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--latency", type=float, nargs=2, default=(0.3, 0.5))
    p.add_argument("--naive-sample", type=int, default=40)
    args = p.parse_args()
    lo, hi = args.latency
    today = newest_complete_day(SystemClock()) + dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)
    histories = _histories(args.kols, yesterday)
    ids = list(histories)
    with (
        Simulator(
            histories, token=TOKEN, today=lambda: today, latency_s=(lo, hi), max_rps=args.rps
        ) as sim,
        tempfile.TemporaryDirectory() as tmp,
    ):
        elapsed, failed, made, limited = watcher_cycle(
            sim.url, ids, args.rps, args.concurrency, Path(tmp)
        )
        sample = ids[: args.naive_sample]
        naive_s = naive(sim.url, sample) * args.kols / len(sample)
    limit = max(args.kols / args.rps, args.kols * (lo + hi) / 2 / args.concurrency)
    print(
        f"KOLs {args.kols}, server limit {args.rps:g} rps, latency {lo}-{hi} s, "
        f"concurrency {args.concurrency}"
    )
    print(f"server-allowed limit      {limit:7.2f} s")
    print(
        f"watcher cycle             {elapsed:7.2f} s  ({elapsed / limit:.3f}x the limit; "
        f"{made} calls, {limited} answered 302, {failed} KOLs failed)"
    )
    print(
        f"naive sequential loop     {naive_s:7.2f} s  (measured on {len(sample)} KOLs, "
        f"scaled to {args.kols})"
    )
    print(f"speed-up over naive       {naive_s / elapsed:7.2f}x")


if __name__ == "__main__":
    main()
