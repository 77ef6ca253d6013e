"""The one small interface every notifier implements."""

from __future__ import annotations

from typing import Protocol

from watcher.model import Alert, Notice


class DeliveryError(Exception):
    """The receiver did not accept the message; `permanent` means retrying will not help."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Notifier(Protocol):
    name: str

    def send(self, item: Alert | Notice) -> str:
        """Deliver one alert or notice; return the receiver's answer, or raise DeliveryError."""
        ...
