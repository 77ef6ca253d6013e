"""The `watcher` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from watcher import __version__
from watcher.clock import Clock
from watcher.config import Config, ConfigError, load_config
from watcher.config.secrets_check import check_config_file
from watcher.logs import LEVELS, setup_logging
from watcher.redact import Redactor

log = logging.getLogger("watcher")

DEFAULT_CONFIG = "/etc/watcher/config.yaml"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=os.environ.get("WATCHER_CONFIG",
                                                                 DEFAULT_CONFIG),
                        help="config file (default: $WATCHER_CONFIG, then %(default)s)")
    common.add_argument("--log-level", choices=LEVELS, default="info")
    p = argparse.ArgumentParser(prog="watcher", description="Follower-growth anomaly alerts "
                                "for Xiaohongshu creators, from the Just One API.")
    p.add_argument("--version", action="version", version=f"watcher {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("validate", parents=[common], help="check the config and templates")
    c = sub.add_parser("check", parents=[common], help="run one poll cycle now")
    c.add_argument("--dry-run", action="store_true", help="store and print alerts, send nothing")
    c.add_argument("--kol", nargs="+", metavar="USER_ID", help="poll only these KOLs")
    sub.add_parser("run", parents=[common], help="run the daemon on the configured schedule")
    d = sub.add_parser("demo", parents=[common], help="an offline cycle against the bundled "
                       "API simulator (no token, no network)")
    d.add_argument("--state", type=Path, help="keep the demo's SQLite store in this folder")
    b = sub.add_parser("backtest", parents=[common], help="walk-forward detection over saved "
                       "API responses (JSON Lines), no network")
    b.add_argument("--input", type=Path, required=True, metavar="FILE")
    b.add_argument("--format", choices=("json", "table"), default="table")
    b.set_defaults(config=None)  # detector settings come from a config only when one is named
    return p


def main(argv: Sequence[str] | None = None, clock: Clock | None = None) -> int:
    """Entry point of the console script; returns the exit code. Tests may inject a clock."""
    args = _parser().parse_args(argv)
    args.clock = clock
    setup_logging(args.log_level)
    handler = {"validate": cmd_validate, "check": cmd_check, "run": cmd_run,
               "demo": cmd_demo, "backtest": cmd_backtest}[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _load(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config)
    setup_logging(args.log_level, Redactor(cfg.secrets()))
    for warning in check_config_file(args.config):
        log.warning("%s", warning)
    return cfg


def cmd_validate(args: argparse.Namespace) -> int:
    from watcher.render import Renderer

    cfg = _load(args)
    problems = Renderer().check()
    if problems:
        for p in problems:
            print(f"{args.config}: {p}", file=sys.stderr)
        return EXIT_CONFIG
    print(cfg.summary())
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from watcher.app import build_app
    from watcher.report import format_cycle

    cfg = _load(args)
    if args.kol:
        unknown = set(args.kol) - {k.user_id for k in cfg.watchlist}
        if unknown:
            print(f"--kol: not in the watchlist: {', '.join(sorted(unknown))}",
                  file=sys.stderr)
            return EXIT_CONFIG
    app = build_app(cfg, clock=args.clock)
    try:
        report = app.check(dry_run=args.dry_run, only=args.kol)
    finally:
        app.close()
    if args.dry_run:
        for alert in report.alerts:
            print(app.renderer.text(alert) + "\n")
    print(format_cycle(report))
    for k in report.failed:
        print(f"failed: {k.name} ({k.user_id}): {k.reason}", file=sys.stderr)
    return EXIT_FAILED if report.failed or report.poll.stop else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.daemon import Daemon

    cfg = _load(args)
    return Daemon(args.config, cfg, log_level=args.log_level).run()


def cmd_demo(args: argparse.Namespace) -> int:
    from watcher.demo import run_demo

    return run_demo(args.state, sys.stdout)


def cmd_backtest(args: argparse.Namespace) -> int:
    from watcher import backtest
    from watcher.detect import DetectSettings

    settings = load_config(args.config).detect if args.config else DetectSettings()
    return backtest.run(args.input, args.format, sys.stdout, settings)
