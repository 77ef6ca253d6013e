"""Keep secrets out of logs, exceptions and alerts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_TOKEN_PARAM = re.compile(r"(token=)[^&\s'\"]+", re.IGNORECASE)


class Redactor:
    """Replaces known secret values, and any `token=` query parameter, with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # longest first, so a secret that contains another is removed whole
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return _TOKEN_PARAM.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's final message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # a traceback can carry a URL with the token: render it now, redacted
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True
