"""Logging: journald style only when stderr really is the journal stream; levels; redaction."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from watcher.logs import setup_logging, stderr_is_journal
from watcher.redact import Redactor


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def stderr_file(tmp_path: Path) -> Iterator[TextIO]:
    """A real file, so it has the dev:inode systemd would name; `_use` makes it sys.stderr."""
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as f:
        yield f


def _use(f: TextIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # inside the test body: pytest swaps its own capture into sys.stderr after fixtures run
    monkeypatch.setattr(sys, "stderr", f)


def _journal_env(f: TextIO, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(f, monkeypatch)
    st = os.fstat(f.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")


def _read(f: TextIO) -> list[str]:
    f.flush()
    f.seek(0)
    return f.read().splitlines()


def test_journal_lines_carry_priority_and_no_timestamp(
        stderr_file: TextIO, monkeypatch: pytest.MonkeyPatch) -> None:
    _journal_env(stderr_file, monkeypatch)
    assert stderr_is_journal()
    setup_logging("debug")
    log = logging.getLogger("watcher.test")
    log.debug("d")
    log.info("i")
    log.warning("w")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    lines = _read(stderr_file)
    assert lines[:4] == ["<7>watcher.test: d", "<6>watcher.test: i", "<4>watcher.test: w",
                         "<3>watcher.test: failed"]
    # every traceback line keeps the error priority, so journalctl -p err shows it whole
    assert len(lines) > 5 and all(line.startswith("<3>") for line in lines[3:])
    assert lines[-1] == "<3>RuntimeError: boom"


def test_inherited_journal_stream_on_a_terminal_gets_readable_lines(
        stderr_file: TextIO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # JOURNAL_STREAM names some other stream (say a terminal started by a user service)
    other = tmp_path / "other"
    other.write_text("")
    st = os.stat(other)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    _use(stderr_file, monkeypatch)
    assert not stderr_is_journal()
    setup_logging("info")
    logging.getLogger("watcher.test").warning("careful")
    (line,) = _read(stderr_file)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING watcher\.test: careful", line)


def test_malformed_or_missing_journal_stream(stderr_file: TextIO,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _use(stderr_file, monkeypatch)
    monkeypatch.setenv("JOURNAL_STREAM", "junk")
    assert not stderr_is_journal()
    monkeypatch.delenv("JOURNAL_STREAM")
    assert not stderr_is_journal()


def test_level_filters_and_secrets_are_redacted(stderr_file: TextIO,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _journal_env(stderr_file, monkeypatch)
    setup_logging("warning", Redactor(["s3cret"]))
    log = logging.getLogger("watcher.test")
    log.info("hidden")
    log.warning("url https://x/?token=abc and %s", "s3cret")
    assert _read(stderr_file) == ["<4>watcher.test: url https://x/?token=*** and ***"]
