"""sd_notify against a real AF_UNIX datagram socket, as systemd binds one."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.sdnotify import SystemdNotifier, socket_address, watchdog_interval


class NotifyListener:
    """The service manager's end: a bound datagram socket that collects every message."""

    def __init__(self, address: str) -> None:
        self.address = address  # as $NOTIFY_SOCKET spells it
        self.messages: list[dict[str, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind("\0" + address[1:] if address.startswith("@") else address)

    def close(self) -> None:
        self._sock.close()

    def drain(self, timeout: float = 0.05) -> None:
        """Collect what has arrived, waiting at most `timeout` for the first datagram."""
        self._sock.settimeout(timeout)
        try:
            while True:
                data = self._sock.recv(4096)
                fields = dict(line.split("=", 1) for line in data.decode().splitlines())
                self.messages.append(fields)
                self._sock.settimeout(0)
        except (BlockingIOError, TimeoutError):
            pass

    def wait_for(self, key: str, value: str | None = None, *, after: int = 0,
                 timeout: float = 15.0) -> int:
        """Index of the first message from `after` on with `key` (= `value`); fails at deadline."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(after, len(self.messages)):
                m = self.messages[i]
                if key in m and (value is None or m[key] == value):
                    return i
            if time.monotonic() > deadline:
                raise AssertionError(f"no {key}={value or '*'} within {timeout}s after #{after}; "
                                     f"got {self.messages[after:]}")
            self.drain(0.1)

    def count(self, key: str) -> int:
        return sum(key in m for m in self.messages)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    path = tmp_path / "notify.sock"
    # sun_path holds 107 bytes; a long pytest folder falls back to the abstract namespace
    address = str(path) if len(str(path)) < 100 else f"@watcher-test-{uuid.uuid4().hex}"
    n = NotifyListener(address)
    yield n
    n.close()


def test_address_forms() -> None:
    assert socket_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert socket_address({"NOTIFY_SOCKET": "@abc"}) == "\0abc"
    assert socket_address({}) is None
    assert socket_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None


def test_messages_reach_a_bound_socket(listener: NotifyListener) -> None:
    n = SystemdNotifier({"NOTIFY_SOCKET": listener.address})
    assert n.ready("started\nfine")
    assert n.status("2 KOL(s)")
    assert n.watchdog() and n.reloading() and n.stopping()
    listener.drain()
    assert listener.messages[0] == {"READY": "1", "STATUS": "started fine"}
    assert listener.messages[1] == {"STATUS": "2 KOL(s)"}
    assert listener.messages[2] == {"WATCHDOG": "1"}
    assert listener.messages[3]["RELOADING"] == "1"
    assert int(listener.messages[3]["MONOTONIC_USEC"]) > 0
    assert listener.messages[4] == {"STOPPING": "1"}


def test_abstract_namespace() -> None:
    listener = NotifyListener(f"@watcher-test-{uuid.uuid4().hex}")
    try:
        assert SystemdNotifier({"NOTIFY_SOCKET": listener.address}).ready()
        listener.drain()
        assert listener.messages == [{"READY": "1"}]
    finally:
        listener.close()


def test_outside_systemd_and_with_a_dead_socket(tmp_path: Path) -> None:
    assert not SystemdNotifier({}).enabled
    assert SystemdNotifier({}).ready() is False
    # a socket path nobody listens on: a failed send is reported, never raised
    assert SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).watchdog() is False


def test_watchdog_interval() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "junk"}) is None
    # WATCHDOG_PID names the process the manager watches: a child must not ping for it
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, pid=42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "2000000",
                              "WATCHDOG_PID": str(os.getpid())}) == 1.0
