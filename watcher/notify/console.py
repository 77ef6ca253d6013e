"""Console notifier: alerts as text on stdout (the default channel, and the demo's)."""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.notify.base import Item
from watcher.render import Renderer


class ConsoleNotifier:
    def __init__(self, name: str, renderer: Renderer, stream: TextIO | None = None) -> None:
        self.name = name
        self._renderer = renderer
        self._stream = stream

    def send(self, item: Item, *, skip_parts: int = 0) -> str:
        """Print the plain-text rendering (one part: `skip_parts` does not apply)."""
        stream = self._stream or sys.stdout
        stream.write(self._renderer.text(item) + "\n\n")
        stream.flush()
        return "printed"
