"""Wiring: build the store, client, poller and notifiers a Config asks for."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from watcher.api.client import ApiClient
from watcher.clock import Clock, SystemClock
from watcher.config import Config
from watcher.cycle import CycleReport, run_cycle
from watcher.logs import setup_logging
from watcher.notify import Notifier, build_notifiers
from watcher.outbox import FlushReport, flush
from watcher.poll import Poller
from watcher.redact import Redactor
from watcher.render import Renderer
from watcher.route import ops_channels
from watcher.store import Store

log = logging.getLogger(__name__)


@dataclass
class App:
    cfg: Config
    store: Store
    poller: Poller
    notifiers: Mapping[str, Notifier]
    renderer: Renderer
    clock: Clock

    def check(self, *, dry_run: bool = False, only: Collection[str] | None = None) -> CycleReport:
        """Run one cycle now."""
        return run_cycle(self.cfg, self.store, self.poller, self.notifiers, self.clock,
                         dry_run=dry_run, only=only)

    def flush(self) -> FlushReport:
        """Deliver what the outbox holds that is due now (the daemon calls it when stopping)."""
        return flush(self.store, self.notifiers, self.clock, ops_channels(self.cfg))

    def close(self) -> None:
        self.store.close()


def api_session(pool_size: int) -> requests.Session:
    """One pooled session for the whole cycle, sized to the worker pool."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def build_app(cfg: Config, *, clock: Clock | None = None,
              notifiers: Mapping[str, Notifier] | None = None,
              sleep: Callable[[float], None] = time.sleep,
              monotonic: Callable[[], float] = time.monotonic,
              log_level: str | None = None) -> App:
    """Everything a cycle needs, from the config; tests inject clock, sleep and notifiers."""
    if log_level is not None:
        setup_logging(log_level, Redactor(cfg.secrets()))
    api = cfg.api
    client = ApiClient(api.base_url, api.token, timeout_s=api.timeout_s,
                       session=api_session(api.concurrency),
                       redactor=Redactor(cfg.secrets()))
    poller = Poller(client, concurrency=api.concurrency, max_rps=api.max_rps,
                    max_attempts=api.max_attempts, sleep=sleep, monotonic=monotonic)
    renderer = Renderer(cfg.notify.templates_dir)
    return App(cfg, Store(cfg.storage.path), poller,
               notifiers if notifiers is not None else build_notifiers(cfg.channels, renderer),
               renderer, clock or SystemClock())
