"""The one small interface every notifier implements."""

from __future__ import annotations

from typing import Protocol

from watcher.model import Alert, Digest, Notice

Item = Alert | Digest | Notice


class DeliveryError(Exception):
    """The receiver did not accept the message; `permanent` means retrying will not help.

    `parts_done` counts the messages of a split delivery that were accepted before this."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None,
                 parts_done: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.parts_done = parts_done


class Notifier(Protocol):
    name: str

    def send(self, item: Item, *, skip_parts: int = 0) -> str:
        """Deliver one item (skipping the first `skip_parts` messages of a split one, which
        were accepted before); return the receiver's answer, or raise DeliveryError."""
        ...
