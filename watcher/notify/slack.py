"""Slack incoming-webhook notifier (Block Kit with a plain-text fallback)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from watcher.notify.base import DeliveryError, Item
from watcher.redact import Redactor
from watcher.render import Renderer

# Slack's documented webhook errors that no retry can fix
PERMANENT_STATUSES = (400, 403, 404, 410)
PERMANENT_ANSWERS = frozenset({
    "invalid_token", "channel_is_archived", "no_service", "channel_not_found",
    "no_active_hooks", "team_disabled", "action_prohibited", "posting_to_general_channel_denied",
    "user_not_found", "invalid_payload", "invalid_blocks", "invalid_blocks_format",
    "no_text", "too_many_attachments", "missing_text_or_fallback_or_attachments",
})


class Pacer:
    """At most one message per `interval_s` (Slack: about one a second per webhook)."""

    def __init__(self, interval_s: float, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._last: float | None = None

    def wait(self) -> None:
        """Sleep until the next message may go."""
        if self._last is not None:
            wait = self._last + self._interval - self._monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last = self._monotonic()


class SlackNotifier:
    def __init__(self, name: str, webhook_url: str, renderer: Renderer, *,
                 session: requests.Session | None = None, timeout_s: float = 15.0,
                 pacer: Pacer | None = None) -> None:
        self.name = name
        self._url = webhook_url
        self._renderer = renderer
        self._session = session or requests.Session()
        self._timeout = timeout_s
        self._pacer = pacer or Pacer(1.0)
        # the webhook URL is itself the secret; requests' errors quote just its path
        path = urlsplit(webhook_url).path
        self._redact = Redactor([webhook_url] + ([path] if len(path) > 1 else []))

    def send(self, item: Item, *, skip_parts: int = 0) -> str:
        """Post every message of `item` after the first `skip_parts`, paced."""
        messages = self._renderer.slack_messages(item)
        for i, payload in enumerate(messages[skip_parts:], skip_parts):
            self._pacer.wait()
            try:
                self._post(payload)
            except DeliveryError as exc:
                exc.parts_done = i  # the ones before were accepted: never post them again
                if len(messages) > 1:
                    exc.args = (f"message {i + 1} of {len(messages)}: {exc}",)
                raise
        sent = len(messages) - skip_parts
        return "200 ok" if sent == 1 else f"200 ok ({sent} messages)"

    def _post(self, payload: dict[str, Any]) -> None:
        try:
            resp = self._session.post(self._url, json=payload, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DeliveryError(self._redact(f"slack: {type(exc).__name__}: {exc}"),
                                permanent=False) from None
        answer = self._redact(resp.text.strip()[:200])
        if resp.status_code == 200 and answer == "ok":
            return
        message = f"slack answered HTTP {resp.status_code}: {answer or '(empty)'}"
        if resp.status_code == 429:
            raise DeliveryError(message, permanent=False,
                                retry_after=_seconds(resp.headers.get("Retry-After")))
        permanent = resp.status_code in PERMANENT_STATUSES or answer in PERMANENT_ANSWERS
        raise DeliveryError(message, permanent=permanent)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
