"""Slack incoming-webhook notifier (Block Kit with a plain-text fallback)."""

from __future__ import annotations

import requests

from watcher.model import Alert, Notice
from watcher.notify.base import DeliveryError
from watcher.redact import Redactor
from watcher.render import Renderer

# Slack's documented webhook errors that no retry can fix
PERMANENT_STATUSES = (400, 403, 404, 410)


class SlackNotifier:
    def __init__(self, name: str, webhook_url: str, renderer: Renderer, *,
                 session: requests.Session | None = None, timeout_s: float = 15.0) -> None:
        self.name = name
        self._url = webhook_url
        self._renderer = renderer
        self._session = session or requests.Session()
        self._timeout = timeout_s
        self._redact = Redactor([webhook_url])  # the webhook URL is itself the secret

    def send(self, item: Alert | Notice) -> str:
        payload = self._renderer.slack(item)
        try:
            resp = self._session.post(self._url, json=payload, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DeliveryError(self._redact(f"slack: {type(exc).__name__}: {exc}"),
                                permanent=False) from None
        answer = self._redact(resp.text.strip()[:200])
        if resp.status_code == 200 and answer == "ok":
            return "200 ok"
        message = f"slack answered HTTP {resp.status_code}: {answer or '(empty)'}"
        if resp.status_code == 429:
            raise DeliveryError(message, permanent=False,
                                retry_after=_seconds(resp.headers.get("Retry-After")))
        permanent = resp.status_code in PERMANENT_STATUSES
        raise DeliveryError(message, permanent=permanent)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
