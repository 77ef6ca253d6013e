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
    common.add_argument("--log-level", choices=LEVELS, default=None,
                        help="default: info (warning for the demo, whose output is for people)")
    p = argparse.ArgumentParser(prog="watcher", description="Follower-growth anomaly alerts "
                                "for Xiaohongshu creators, from the Just One API.")
    p.add_argument("--version", action="version", version=f"watcher {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("validate", parents=[common], help="check the config and templates")
    c = sub.add_parser("check", parents=[common], help="run one poll cycle now")
    c.add_argument("--dry-run", action="store_true", help="store and print alerts, send nothing")
    c.add_argument("--kol", nargs="+", metavar="USER_ID", help="poll only these KOLs")
    sub.add_parser("run", parents=[common], help="run the daemon on the configured schedule")
    o = sub.add_parser("outbox", parents=[common], help="list pending and failed deliveries")
    o.add_argument("--retry", action="store_true", help="resend them now")
    t = sub.add_parser("test-notify", parents=[common], help="send a sample alert to each "
                       "channel")
    t.add_argument("--channel", metavar="NAME", help="only this channel")
    h = sub.add_parser("history", parents=[common], help="a KOL's stored days, increments "
                       "and findings (alerted or not)")
    h.add_argument("--kol", required=True, metavar="USER_ID")
    h.add_argument("--days", type=int, default=30, help="how many days (default %(default)s)")
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
    args.log_level = args.log_level or ("warning" if args.command == "demo" else "info")
    setup_logging(args.log_level)
    handler = {"validate": cmd_validate, "check": cmd_check, "run": cmd_run,
               "history": cmd_history,
               "demo": cmd_demo, "backtest": cmd_backtest, "outbox": cmd_outbox,
               "test-notify": cmd_test_notify}[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `watcher backtest | head`: the reader left; say nothing more, like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _load(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config)
    setup_logging(args.log_level, Redactor(cfg.secrets()))
    for warning in check_config_file(args.config):
        log.warning("%s", warning)
    for warning in cfg.warnings:
        log.warning("%s", warning)
    return cfg


def cmd_validate(args: argparse.Namespace) -> int:
    from watcher.render import Renderer

    cfg = _load(args)
    problems = Renderer(cfg.notify.templates_dir).check()
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


def cmd_outbox(args: argparse.Namespace) -> int:
    """List undelivered deliveries; with --retry, resend them first. 1 if any remain failed."""
    from watcher.clock import SystemClock
    from watcher.notify import build_notifiers
    from watcher.outbox import flush
    from watcher.render import Renderer
    from watcher.report import table
    from watcher.route import ops_channels
    from watcher.store import Store

    cfg = _load(args)
    clock = args.clock or SystemClock()
    store = Store(cfg.storage.path)
    try:
        if args.retry:
            count = store.retry_all(clock.now())
            notifiers = build_notifiers(cfg.channels, Renderer(cfg.notify.templates_dir),
                                        clock=clock)
            done = flush(store, notifiers, clock, ops_channels(cfg))
            print(f"retried {count} delivery(ies): {len(done.sent)} sent, "
                  f"{len(done.retrying)} to retry, {len(done.failed)} failed")
            for line in done.retrying + done.failed:
                print(f"  {line}")
        rows = store.deliveries(("pending", "failed"))
    finally:
        store.close()
    if not rows:
        print("outbox empty: every delivery was accepted")
        return EXIT_OK
    print(table(("id", "queued", "kind", "about", "channel", "status", "tries", "next try",
                 "last error"),
                [(str(r["id"]), r["created_at"], r["kind"], r["user_id"] or r["dedup_key"],
                  r["channel"], r["status"], str(r["attempts"]),
                  r["next_attempt_at"] if r["status"] == "pending" else "-",
                  (r["last_error"] or "-")[:120]) for r in rows]))
    return EXIT_FAILED if args.retry or any(r["status"] == "failed" for r in rows) \
        else EXIT_OK


def cmd_test_notify(args: argparse.Namespace) -> int:
    """Send the sample alert to each channel now (not via the outbox); 1 if one failed."""
    from watcher.notify import DeliveryError, build_notifiers
    from watcher.render import Renderer
    from watcher.render.sample import sample_alert

    cfg = _load(args)
    channels = tuple(c for c in cfg.channels if args.channel in (None, c.name))
    if not channels:
        known = ", ".join(c.name for c in cfg.channels)
        print(f"--channel: no channel named {args.channel!r} (configured: {known})",
              file=sys.stderr)
        return EXIT_CONFIG
    notifiers = build_notifiers(channels, Renderer(cfg.notify.templates_dir), clock=args.clock)
    failed = 0
    for ch in channels:
        try:
            answer = notifiers[ch.name].send(sample_alert())
        except DeliveryError as exc:
            failed += 1
            kind = "permanent" if exc.permanent else "transient"
            print(f"{ch.name} ({ch.type}): FAILED ({kind}): {exc}")
            continue
        print(f"{ch.name} ({ch.type}): sent: {answer}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from watcher.history import format_history
    from watcher.store import Store

    cfg = _load(args)
    names = {k.user_id: k.name for k in cfg.watchlist}
    store = Store(cfg.storage.path)
    try:
        print(format_history(names.get(args.kol, args.kol), store.series(args.kol),
                             store.findings(args.kol), store.revisions(args.kol), args.days))
    finally:
        store.close()
    return EXIT_OK


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
