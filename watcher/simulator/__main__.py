"""`python -m watcher.simulator`: serve the demo watchlist until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import json
import threading

from watcher.simulator.demo import demo_watchlist
from watcher.simulator.responses import beijing_today
from watcher.simulator.server import Simulator


def yaml_snippet(url: str, token: str) -> str:
    """A watchlist snippet pointing at `url`; JSON-quoted strings are valid YAML scalars."""
    # Keys follow watcher's config file (api.base_url, api.token, watchlist[]).
    lines = ["api:", f"  base_url: {json.dumps(url)}", f"  token: {json.dumps(token)}"]
    lines.append("watchlist:")
    for kol in demo_watchlist(beijing_today()):
        lines += [
            f"  - user_id: {json.dumps(kol.user_id)}",
            f"    name: {json.dumps(kol.name, ensure_ascii=False)}",
            f"    tags: {json.dumps(list(kol.tags), ensure_ascii=False)}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m watcher.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: any)")
    parser.add_argument("--token", default="sim-token", help="token the simulator accepts")
    args = parser.parse_args(argv)
    # The history is fixed at start-up; restart the simulator after Beijing midnight.
    kols = demo_watchlist(beijing_today())
    sim = Simulator({k.user_id: k.points for k in kols}, token=args.token, port=args.port)
    with sim:
        print(f"Simulator serving {len(kols)} demo KOLs at {sim.url}", flush=True)
        print("Watchlist snippet for a config file:\n", flush=True)
        print(yaml_snippet(sim.url, args.token), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
