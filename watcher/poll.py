"""One poll cycle's fetch stage: every target fetched with bounded retries, paced and pooled."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from watcher.api.client import ApiClient, Reply
from watcher.api.policy import Action
from watcher.api.ratelimit import RateLimiter
from watcher.model import Series

log = logging.getLogger(__name__)

MAX_RATE_LIMITED = 8  # 302 answers one KOL may take (each halves the rate) before giving up


@dataclass(frozen=True)
class Target:
    user_id: str
    date_type: str  # DAY_30 | DAY_90


@dataclass(frozen=True)
class PollOutcome:
    user_id: str
    ok: bool
    reason: str
    calls: int
    series: Series | None = None
    billed: int = 0  # calls the vendor may charge for: successes, and timeouts to be safe


@dataclass(frozen=True)
class Stop:
    """Why the cycle stopped calling: the account is unusable, or the day's quota is spent."""

    action: Action
    code: int | None
    reason: str


@dataclass
class PollReport:
    outcomes: dict[str, PollOutcome] = field(default_factory=dict)
    stop: Stop | None = None
    calls: Counter[str] = field(default_factory=Counter)  # by label: "code 0", "timeout", ...
    retries: int = 0

    @property
    def made(self) -> int:
        return sum(self.calls.values())


@dataclass
class _State:
    report: PollReport
    lock: threading.Lock = field(default_factory=threading.Lock)
    later: list[Target] = field(default_factory=list)  # timed out once: one more try at the end
    earlier_calls: dict[str, int] = field(default_factory=dict)  # calls before the requeue
    billed: Counter[str] = field(default_factory=Counter)  # per KOL


class Poller:
    """Fetches targets through the client, applying the policy table's actions."""

    def __init__(self, client: ApiClient, *, concurrency: int = 4, max_rps: float = 2.0,
                 max_attempts: int = 3, backoff_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self._client = client
        self._concurrency = concurrency
        # a burst as wide as the pool lets workers delayed by a slow answer catch up
        self._limiter = RateLimiter(max_rps, burst=min(concurrency, max(1, int(max_rps))),
                                    monotonic=monotonic, sleep=sleep)
        self._max_attempts = max_attempts
        self._backoff = backoff_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        # set by the daemon on SIGTERM: finish the KOL in flight, start no other
        self.stopping = threading.Event()

    def poll(self, targets: Sequence[Target]) -> PollReport:
        """Fetch every target; stops early on an account fault or a spent quota."""
        state = _State(PollReport())
        if not targets:
            return state.report
        self._limiter.restart()
        # one call alone first: a bad token or empty balance then costs a single call
        self._poll_one(targets[0], state, final=False)
        rest = list(targets[1:])
        if state.report.stop is None and rest:
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="poll") as pool:
                list(pool.map(lambda t: self._poll_one(t, state, final=False), rest))
        for target in state.later:
            self._poll_one(target, state, final=True)
        for target in targets:
            if target.user_id not in state.report.outcomes:
                stop = state.report.stop
                why = stop.reason if stop else "watcher is stopping"
                state.report.outcomes[target.user_id] = PollOutcome(
                    target.user_id, False, f"not polled: cycle stopped ({why})", 0)
        return state.report

    def _poll_one(self, target: Target, state: _State, *, final: bool) -> None:
        uid = target.user_id
        calls = state.earlier_calls.get(uid, 0)
        failures = limited = 0
        while state.report.stop is None and not self.stopping.is_set():
            self._limiter.acquire()
            reply = self._client.fetch(uid, target.date_type)
            calls += 1
            self._count(state, uid, reply)
            action = reply.action
            if action is Action.OK:
                self._limiter.succeeded()
                self._finish(state, PollOutcome(uid, True, reply.reason, calls, reply.series))
                return
            log.info("%s: call %d: %s", uid, calls, reply.reason)
            retry, why = False, reply.reason
            if action is Action.SLOW_DOWN:
                limited += 1  # the server's limit, not this KOL's fault: its own budget
                retry = limited < MAX_RATE_LIMITED
                self._limiter.slow_down()
            elif action is Action.RETRY:
                failures += 1
                retry = failures < self._max_attempts
                why += "" if retry else f" (gave up after {failures} attempts)"
            elif action is Action.TIMEOUT and final:
                why += " (twice)"
            elif action is Action.TIMEOUT:
                # a timed-out call may be billed: try once more, at the end of the cycle
                with state.lock:
                    state.later.append(target)
                    state.earlier_calls[uid] = calls
                    state.report.retries += 1
                return
            elif action in (Action.ACCOUNT, Action.QUOTA):
                with state.lock:
                    state.report.stop = state.report.stop or Stop(action, reply.code, why)
            if not retry:
                self._finish(state, PollOutcome(uid, False, why, calls))
                return
            with state.lock:
                state.report.retries += 1
            if action is Action.RETRY:
                self._sleep(self._delay(failures))
        if calls:
            why = state.report.stop.reason if state.report.stop else "watcher is stopping"
            self._finish(state, PollOutcome(uid, False, f"stopped: {why}", calls))

    def _delay(self, attempt: int) -> float:
        # full jitter: spreads the retries of workers that failed together
        return self._rng.uniform(0, self._backoff * 2 ** (attempt - 1))

    @staticmethod
    def _count(state: _State, user_id: str, reply: Reply) -> None:
        timeout = reply.action is Action.TIMEOUT
        label = f"code {reply.code}" if reply.code is not None else (
            "timeout" if timeout else
            f"http {reply.http_status}" if reply.http_status else "network")
        with state.lock:
            state.report.calls[label] += 1
            state.billed[user_id] += reply.billed or timeout

    @staticmethod
    def _finish(state: _State, outcome: PollOutcome) -> None:
        with state.lock:
            billed = state.billed[outcome.user_id]
            state.report.outcomes[outcome.user_id] = dataclasses.replace(outcome, billed=billed)
