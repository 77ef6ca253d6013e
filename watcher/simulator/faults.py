"""Scripted faults: one-shot deviations from normal service, queued per user or for any user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal[
    "code", "spring_400", "html", "truncated", "garbage", "reset", "delay", "payload"
]

# Messages as the vendor words them where known (301 is from a captured response); the rest are
# plausible stand-ins so a client that logs `message` shows something sensible.
MESSAGES: dict[int, str | None] = {
    0: None,
    100: "Invalid or inactive token",
    101: "Service busy, please try again later",
    202: "Processing, please retry later",
    300: "FAILED",
    301: "FAILED, RETRY",
    302: "Rate limit exceeded, please slow down",
    303: "Daily quota exceeded",
    400: "Invalid parameters",
    404: "Not found",
    500: "Internal server error",
    503: "Service unavailable",
    600: "Permission denied",
    601: "Insufficient balance",
    602: None,  # documented without prose; a null message is itself worth exercising
}

_DEFAULT = object()


def default_message(code: int) -> str | None:
    """The simulator's message for a business code (unknown codes get a generic one)."""
    return MESSAGES.get(code, "UNKNOWN ERROR")


@dataclass(frozen=True)
class Fault:
    """One scripted response; build with the class-method constructors, not directly."""

    kind: FaultKind
    business_code: int | None = None
    message: str | None = None
    http_status: int = 200
    data: Any = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """Short label recorded in `Call.fault`, e.g. "code:301" or "reset"."""
        if self.kind == "code":
            return f"code:{self.business_code}"
        if self.kind == "html":
            return f"html:{self.http_status}"
        return self.kind

    @classmethod
    def code(
        cls,
        code: int,
        message: Any = _DEFAULT,
        http_status: int = 200,
        data: Any = None,
    ) -> Fault:
        """A Result envelope with any business `code` (message defaults to the vendor-like one)."""
        msg = default_message(code) if message is _DEFAULT else message
        return cls("code", business_code=code, message=msg, http_status=http_status, data=data)

    @classmethod
    def spring_400(cls) -> Fault:
        """HTTP 400 with a Spring Boot error body, not the envelope."""
        return cls("spring_400", http_status=400)

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An nginx-style text/html error page with the given HTTP status."""
        return cls("html", http_status=status)

    @classmethod
    def truncated(cls) -> Fault:
        """HTTP 200 announcing the full Content-Length, then half the body and a close."""
        return cls("truncated")

    @classmethod
    def garbage(cls) -> Fault:
        """HTTP 200, application/json content type, body that is not JSON."""
        return cls("garbage")

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection without a response (TCP RST)."""
        return cls("reset", http_status=0)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Hold the request `seconds` before answering it normally (and billing it)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def payload(cls, data: Any) -> Fault:
        """Code 0 with `data` verbatim; billed like any success."""
        return cls("payload", business_code=0, data=data)
