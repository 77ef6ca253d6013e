"""Notifiers: one module per channel type behind the Notifier interface."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from watcher.clock import Clock
from watcher.config import Channel, ConsoleChannel, EmailChannel, SlackChannel
from watcher.notify.base import DeliveryError, Item, Notifier
from watcher.notify.console import ConsoleNotifier
from watcher.notify.email import EmailNotifier
from watcher.notify.slack import Pacer, SlackNotifier
from watcher.render import Renderer

__all__ = ["DeliveryError", "Item", "Notifier", "build_notifiers"]


def build_notifiers(channels: tuple[Channel, ...], renderer: Renderer, *,
                    sleep: Callable[[float], None] = time.sleep,
                    monotonic: Callable[[], float] = time.monotonic,
                    clock: Clock | None = None,
                    tls_context: ssl.SSLContext | None = None) -> dict[str, Notifier]:
    """One notifier per configured channel, by channel name; channels that share a Slack
    webhook share its pacing."""
    out: dict[str, Notifier] = {}
    pacers: dict[str, Pacer] = {}
    for ch in channels:
        if isinstance(ch, SlackChannel):
            pacer = pacers.setdefault(ch.webhook_url, Pacer(ch.min_interval_s, sleep, monotonic))
            out[ch.name] = SlackNotifier(ch.name, ch.webhook_url, renderer,
                                         timeout_s=ch.timeout_s, pacer=pacer)
        elif isinstance(ch, EmailChannel):
            out[ch.name] = EmailNotifier(ch, renderer, tls_context, clock=clock)
        elif isinstance(ch, ConsoleChannel):
            out[ch.name] = ConsoleNotifier(ch.name, renderer)
    return out
