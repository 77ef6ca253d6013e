"""Notifiers: one module per channel type behind the Notifier interface."""

from __future__ import annotations

from watcher.config import Channel, ConsoleChannel, EmailChannel, SlackChannel
from watcher.notify.base import DeliveryError, Notifier
from watcher.notify.console import ConsoleNotifier
from watcher.notify.email import EmailNotifier
from watcher.notify.slack import SlackNotifier
from watcher.render import Renderer

__all__ = ["DeliveryError", "Notifier", "build_notifiers"]


def build_notifiers(channels: tuple[Channel, ...], renderer: Renderer) -> dict[str, Notifier]:
    """One notifier per configured channel, by channel name."""
    out: dict[str, Notifier] = {}
    for ch in channels:
        if isinstance(ch, SlackChannel):
            out[ch.name] = SlackNotifier(ch.name, ch.webhook_url, renderer)
        elif isinstance(ch, EmailChannel):
            out[ch.name] = EmailNotifier(ch, renderer)
        elif isinstance(ch, ConsoleChannel):
            out[ch.name] = ConsoleNotifier(ch.name, renderer)
    return out
