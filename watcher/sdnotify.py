"""sd_notify(3) without a library: one datagram per message to `$NOTIFY_SOCKET`."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(env: Mapping[str, str]) -> str | None:
    """The AF_UNIX address in `$NOTIFY_SOCKET` (`@` is the abstract namespace), or None."""
    addr = env.get("NOTIFY_SOCKET", "")
    if addr.startswith("@"):
        return "\0" + addr[1:]
    if addr.startswith("/"):
        return addr
    return None  # unset, or a transport this module does not speak (vsock:...)


def watchdog_interval(env: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of `$WATCHDOG_USEC`), or None when not asked."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    owner = env.get("WATCHDOG_PID")
    if usec <= 0 or owner and owner != str(pid if pid is not None else os.getpid()):
        return None
    return usec / 2 / 1_000_000


class SystemdNotifier:
    """Sends state changes to the service manager; does nothing outside systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.address = socket_address(os.environ if env is None else env)
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send `KEY=value` fields as one datagram; True if the manager got it."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self.address)
                s.sendall(message)
        except OSError as exc:
            if not self._failed:  # once: a missing socket would otherwise log every ping
                log.warning("sd_notify to %r failed: %s", self.address, exc)
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *([f"STATUS={_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={_line(text)}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd >= 253 tell this reload from a later one
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


def _line(text: str) -> str:
    # a newline would start a new KEY=value field
    return " ".join(text.split())
