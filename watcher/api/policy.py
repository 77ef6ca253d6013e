"""What to do with each answer the API can give: the one table of response policy."""

from __future__ import annotations

from enum import Enum


class Action(Enum):
    OK = "ok"  # validate and store the payload
    RETRY = "retry"  # transient; not billed, so retrying with backoff costs nothing
    SLOW_DOWN = "slow_down"  # rate limited: lower the cycle's rate, then retry
    QUOTA = "quota"  # daily quota spent: no more calls until the next Beijing day
    ACCOUNT = "account"  # token, permission or balance: stop the whole cycle now
    BAD_REQUEST = "bad_request"  # this KOL's request is wrong: fail it, do not retry
    TIMEOUT = "timeout"  # may have been billed: retry at most once, later in the cycle
    INVALID = "invalid"  # a billed success whose payload cannot be made sound

# Business codes from the vendor's OpenAPI enum and usage guide (see shared/api/NOTES.md).
CODES: dict[int, tuple[Action, str]] = {
    0: (Action.OK, "success"),
    100: (Action.ACCOUNT, "invalid or inactive token"),
    301: (Action.RETRY, "collection failed, retry"),
    302: (Action.SLOW_DOWN, "rate limit exceeded"),
    303: (Action.QUOTA, "daily quota exceeded"),
    400: (Action.BAD_REQUEST, "invalid parameters"),
    500: (Action.RETRY, "internal server error"),
    503: (Action.RETRY, "service unavailable"),
    600: (Action.ACCOUNT, "permission denied"),
    601: (Action.ACCOUNT, "insufficient balance"),
    602: (Action.ACCOUNT, "token limit exceeded"),
}


def for_code(code: int) -> tuple[Action, str]:
    """The policy for a business code; undocumented codes (101, 202, 300, 404, ...) retry."""
    return CODES.get(code, (Action.RETRY, f"undocumented code {code}"))


def for_http_status(status: int) -> Action:
    """The policy for an HTTP error whose body is not the Result envelope."""
    if status == 429:
        return Action.SLOW_DOWN
    if status in (401, 403):
        return Action.ACCOUNT
    if 400 <= status < 500:
        return Action.BAD_REQUEST
    return Action.RETRY
