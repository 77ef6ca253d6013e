"""Logging to stderr: journald style under systemd, readable lines on a terminal; redacted."""

from __future__ import annotations

import logging
import os
import sys

from watcher.redact import RedactingFilter, Redactor

LEVELS = ("debug", "info", "warning", "error")
# sd-daemon(3) priority prefixes: journald reads them and strips them
_SD_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
                logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """`<6>logger: message`: journald adds its own timestamps."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_SD_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, so a replaced stderr is never stale."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def stderr_is_journal() -> bool:
    """True when stderr is the journal stream systemd named in `$JOURNAL_STREAM` (dev:inode).

    The variable is inherited by everything a service starts (a terminal emulator too), so
    its presence alone does not mean this process's stderr goes to the journal.
    """
    want = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in want.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):  # unset, malformed, or no real fd
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def setup_logging(level: str = "info", redactor: Redactor | None = None) -> None:
    """Configure the root logger once; calling again replaces the handler (and its secrets)."""
    handler = _StderrHandler()
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: "
                                               "%(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactingFilter(redactor or Redactor([])))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # urllib3 logs full request URLs (with the token) at debug level: keep it quieter
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))
    # APScheduler narrates every run at info ("Running job ..."): shown with --log-level debug
    quiet = logging.INFO if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("apscheduler").setLevel(max(quiet, root.level))
