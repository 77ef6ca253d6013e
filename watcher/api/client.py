"""HTTP client for the Just One API follower-history endpoint: one call, one classified Reply."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests

from watcher import __version__
from watcher.api import policy
from watcher.api.payload import PayloadError, parse_history
from watcher.api.policy import Action
from watcher.model import Series
from watcher.redact import Redactor

log = logging.getLogger(__name__)

PATH = "/api/xiaohongshu-pgy/api/solar/kol/data/userId/fans_overall_new_history/v1"


@dataclass(frozen=True)
class Reply:
    """The classified outcome of one HTTP call."""

    user_id: str
    action: Action
    reason: str  # human-readable, secrets redacted
    code: int | None = None  # the body's business code, when the body was the envelope
    http_status: int | None = None
    series: Series | None = None
    vendor_message: str | None = None

    @property
    def billed(self) -> bool:
        """Whether the vendor charges for this call (success, and possibly a timeout)."""
        return self.code == 0


class ApiClient:
    """Calls the endpoint with all four parameters and classifies the answer; never retries."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 60.0,
                 session: requests.Session | None = None,
                 redactor: Redactor | None = None) -> None:
        self.url = base_url.rstrip("/") + PATH
        self._token = token
        self._timeout = timeout_s
        self._session = session or requests.Session()
        self._session.headers.setdefault("User-Agent", f"watcher/{__version__}")
        self._redact = redactor or Redactor([token])

    def fetch(self, user_id: str, date_type: str) -> Reply:
        """GET one KOL's FANS_TOTAL history; every outcome, including network faults, is a Reply."""
        params = {"token": self._token, "userId": user_id, "dateType": date_type,
                  "increaseType": "FANS_TOTAL"}
        try:
            resp = self._session.get(self.url, params=params, timeout=self._timeout)
        except requests.Timeout:
            return Reply(user_id, Action.TIMEOUT, f"no answer within {self._timeout:g}s")
        except requests.RequestException as exc:
            # requests' messages embed the URL with the token: redact before it goes anywhere
            return Reply(user_id, Action.RETRY, self._redact(f"{type(exc).__name__}: {exc}"))
        return self._classify(user_id, resp)

    def _classify(self, user_id: str, resp: requests.Response) -> Reply:
        status = resp.status_code
        try:
            body = resp.json()
        except (ValueError, requests.RequestException):
            action = policy.for_http_status(status) if status >= 400 else Action.RETRY
            kind = resp.headers.get("Content-Type", "?").split(";")[0]
            return Reply(user_id, action, f"HTTP {status}: body is not JSON ({kind}, "
                         f"{len(resp.content)} bytes)", http_status=status)
        if not _is_envelope(body):
            action = policy.for_http_status(status) if status >= 400 else Action.RETRY
            detail = _short(body.get("error")) if isinstance(body, dict) else None
            return Reply(user_id, action, f"HTTP {status}: body is not the Result envelope"
                         + (f" ({detail})" if detail else ""), http_status=status)
        code = body["code"]
        message = self._redact(_short(body.get("message")) or "") or None
        action, meaning = policy.for_code(code)
        reason = f"code {code} ({meaning})" + (f": {message}" if message else "")
        if action is not Action.OK:
            return Reply(user_id, action, reason, code, status, vendor_message=message)
        try:
            series = parse_history(user_id, body)
        except PayloadError as exc:
            return Reply(user_id, Action.INVALID, f"bad payload: {exc}", code, status)
        return Reply(user_id, Action.OK, reason, code, status, series=series)


def _is_envelope(body: Any) -> bool:
    return (isinstance(body, dict) and isinstance(body.get("code"), int)
            and not isinstance(body.get("code"), bool))


def _short(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."
