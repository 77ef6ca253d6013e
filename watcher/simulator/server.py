"""The simulator: a real HTTP server on 127.0.0.1 speaking the vendor's follower-history API."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

from watcher.model import Point
from watcher.simulator.faults import Fault, default_message
from watcher.simulator.limits import DailyQuota, TokenBucket
from watcher.simulator.responses import (
    DATE_TYPES,
    GARBAGE,
    INCREASE_TYPES,
    beijing_today,
    envelope,
    history_data,
    html_page,
    spring_error,
)

log = logging.getLogger(__name__)

PATH = "/api/xiaohongshu-pgy/api/solar/kol/data/userId/fans_overall_new_history/v1"
REQUIRED_PARAMS = ("token", "userId", "dateType", "increaseType")
USER_ID = re.compile(r"[0-9a-f]{24}")
JSON = "application/json"


@dataclass(frozen=True)
class Call:
    """One request as the simulator saw and answered it."""

    user_id: str | None
    date_type: str | None
    increase_type: str | None
    http_status: int | None  # None when the connection was reset without a response
    code: int | None  # the envelope's business code; None when the body is not an envelope
    billed: bool  # code 0: the vendor charges for it
    fault: str | None  # Fault.name of the scripted fault that shaped the reply
    at: float  # time.monotonic() on arrival
    path: str = PATH


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    code: int | None = None
    content_type: str = JSON
    mode: Literal["full", "truncated", "reset"] = "full"

    @property
    def billed(self) -> bool:
        return self.code == 0


def _json_reply(status: int, obj: Mapping[str, Any], code: int | None) -> _Reply:
    return _Reply(status, json.dumps(obj, ensure_ascii=False).encode(), code)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, sim: Simulator) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.sim = sim
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Hang up kept-alive connections, so a stopped simulator answers nothing at all."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients keep connections alive as they would against the vendor.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a kept-alive client waits
    # ~40 ms for a delayed ACK on every call.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "nginx"  # what the vendor's gateway presents, without Python's version

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        cast(_Server, self.server).sim._serve(self)

    def do_POST(self) -> None:  # noqa: N802
        cast(_Server, self.server).sim._serve(self, method_ok=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.debug("%s " + format, self.address_string(), *args)


class Simulator:
    """The vendor endpoint on 127.0.0.1, with scriptable faults, rate limit and daily quota.

    Order of checks for an unscripted request: path (404) -> missing parameter (Spring 400)
    -> token (100) -> rate limit (302) -> enum values and userId (400) -> daily quota (303)
    -> success (0, billed). A scripted fault replaces all of that except the path check, so
    it also bypasses the rate limit and quota; faults answered with code 0 are still billed.
    """

    def __init__(
        self,
        histories: Mapping[str, Sequence[Point]] | None = None,
        *,
        token: str = "sim-token",
        today: Callable[[], dt.date] | None = None,
        port: int = 0,
        latency_s: float | tuple[float, float] = 0.0,
        max_rps: float | None = None,
        daily_quota: int | None = None,
        seed: int = 0,
        monotonic: Callable[[], float] = time.monotonic,  # the rate limit's clock, injectable
    ) -> None:
        self.token = token
        self._today = today or beijing_today
        self._port = port
        self._latency = latency_s
        self._lock = threading.Lock()
        self._histories: dict[str, tuple[Point, ...]] = {}
        for user_id, points in (histories or {}).items():
            self.set_history(user_id, points)
        self._faults: dict[str | None, deque[Fault]] = {}
        self._calls: list[Call] = []
        self._arrived = 0  # requests received, answered or not (calls records the answered)
        self._bucket = TokenBucket(max_rps, monotonic) if max_rps is not None else None
        self._quota = DailyQuota(daily_quota)
        self._rng = random.Random(seed)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:54321" (only once started)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every answered request, in the order the answers were decided.

        A delayed request is recorded (and billed) when its delay ends, even if the client has
        timed out by then, as the vendor may charge for calls a client abandoned.
        """
        with self._lock:
            return list(self._calls)

    @property
    def arrived(self) -> int:
        """Requests received so far, including ones still held (latency, a delay fault)."""
        with self._lock:
            return self._arrived

    def billed_calls(self) -> int:
        """How many calls the vendor would have charged for."""
        with self._lock:
            return sum(c.billed for c in self._calls)

    def set_history(self, user_id: str, points: Sequence[Point]) -> None:
        """Add or replace a KOL's full daily history (any order; one point per day)."""
        ordered = tuple(sorted(points, key=lambda p: p.day))
        with self._lock:
            self._histories[user_id] = ordered

    def script(self, user_id: str | None, *faults: Fault) -> None:
        """Queue faults for the next requests for `user_id` (None: any user), one per request.

        A request takes from its own user's queue first, then from the any-user queue.
        """
        with self._lock:
            self._faults.setdefault(user_id, deque()).extend(faults)

    def start(self) -> Simulator:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self._port, self)
            # A short poll interval makes stop() prompt; tests start and stop many servers.
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name="watcher-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; in-flight delays are cut short."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- serving -------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, method_ok: bool = True) -> None:
        with self._lock:
            self._arrived += 1
        arrived = time.monotonic()
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._wait(self._pick_latency())
        if self._stopping.is_set():
            return  # stopped while the request was held: it was never answered
        fault: Fault | None = None
        if url.path != PATH:
            reply = _json_reply(404, spring_error(404, url.path), None)
        elif not method_ok:
            reply = _json_reply(405, spring_error(405, url.path), None)
        else:
            fault = self._next_fault(query.get("userId"))
            reply = self._normal(query, url.path) if fault is None else self._faulty(fault, query)
        if self._stopping.is_set():
            return  # stopped mid-delay: never answered, so not recorded
        with self._lock:
            # Recorded before sending, so a client that has its answer also sees the record.
            self._calls.append(
                Call(
                    user_id=query.get("userId"),
                    date_type=query.get("dateType"),
                    increase_type=query.get("increaseType"),
                    http_status=None if reply.mode == "reset" else reply.status,
                    code=reply.code,
                    billed=reply.billed,
                    fault=fault.name if fault else None,
                    at=arrived,
                    path=url.path,
                )
            )
        _send(handler, reply)

    def _pick_latency(self) -> float:
        if isinstance(self._latency, tuple):
            lo, hi = self._latency
            with self._lock:
                return self._rng.uniform(lo, hi)
        return self._latency

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _next_fault(self, user_id: str | None) -> Fault | None:
        with self._lock:
            for key in (user_id, None) if user_id is not None else (None,):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _bill(self) -> None:
        # Scripted code-0 replies bypass the quota check but still use the quota up.
        with self._lock:
            self._quota.bill(self._today())

    def _envelope(self, status: int, code: int, message: str | None, data: Any = None) -> _Reply:
        with self._lock:
            # Real responses carry requestId only sometimes; clients must not rely on it.
            rid = f"{self._rng.getrandbits(128):032x}" if self._rng.random() < 0.5 else None
        return _json_reply(status, envelope(code, message, data, rid), code)

    def _normal(self, q: Mapping[str, str], path: str) -> _Reply:
        if not _has_params(q):
            return _json_reply(400, spring_error(400, path), None)
        if q["token"] != self.token:
            return self._envelope(200, 100, default_message(100))
        with self._lock:
            limited = self._bucket is not None and not self._bucket.take()
        if limited:
            return self._envelope(200, 302, default_message(302))
        data_or_error = self._history_or_error(q)
        if isinstance(data_or_error, str):
            return self._envelope(200, 400, data_or_error)
        # Check and spend the quota in one step, so concurrent calls cannot overshoot it.
        with self._lock:
            day = self._today()
            exhausted = self._quota.exhausted(day)
            if not exhausted:
                self._quota.bill(day)
        if exhausted:
            return self._envelope(200, 303, default_message(303))
        return self._envelope(200, 0, None, data_or_error)

    def _history_or_error(self, q: Mapping[str, str]) -> dict[str, Any] | str:
        """Success data, or the message of a code-400 envelope."""
        date_type, increase_type, user_id = q["dateType"], q["increaseType"], q["userId"]
        if date_type not in DATE_TYPES:
            return f"Invalid parameters: dateType must be one of {', '.join(DATE_TYPES)}"
        if increase_type not in INCREASE_TYPES:
            return f"Invalid parameters: increaseType must be one of {', '.join(INCREASE_TYPES)}"
        if not USER_ID.fullmatch(user_id):
            return "Invalid parameters: userId must be 24 lowercase hex digits"
        with self._lock:
            points = self._histories.get(user_id)
        if points is None:
            return "Invalid parameters: userId not found"
        return history_data(points, self._today(), date_type, increase_type)

    def _faulty(self, fault: Fault, q: Mapping[str, str]) -> _Reply:
        match fault.kind:
            case "code":
                code = cast(int, fault.business_code)
                if code == 0:
                    self._bill()
                return self._envelope(fault.http_status, code, fault.message, fault.data)
            case "payload":
                self._bill()
                return self._envelope(200, 0, None, fault.data)
            case "spring_400":
                return _json_reply(400, spring_error(400, PATH), None)
            case "html":
                body = html_page(fault.http_status).encode()
                return _Reply(fault.http_status, body, None, "text/html")
            case "garbage":
                return _Reply(200, GARBAGE.encode(), None)
            case "truncated":
                # Cut the body the client would have got, without billing it or spending a
                # rate token; fall back to an empty history when the request would fail.
                data = self._history_or_error(q) if _has_params(q) else None
                full = self._envelope(200, 0, None, data if isinstance(data, dict) else _EMPTY)
                return _Reply(200, full.body, None, mode="truncated")
            case "reset":
                return _Reply(0, b"", None, mode="reset")
            case "delay":
                self._wait(fault.seconds)
                if self._stopping.is_set():
                    return _Reply(0, b"", None, mode="reset")  # not served, so not billed
                return self._normal(q, PATH)
        raise AssertionError(fault.kind)  # pragma: no cover - Literal is exhaustive


def _has_params(q: Mapping[str, str]) -> bool:
    return all(p in q for p in REQUIRED_PARAMS)


_EMPTY: dict[str, Any] = {"fansNumInc": 0, "fansNumIncRate": 0.0, "list": []}


def _send(handler: BaseHTTPRequestHandler, reply: _Reply) -> None:
    try:
        if reply.mode == "reset":
            _reset(handler)
            return
        handler.send_response(reply.status)
        handler.send_header("Content-Type", f"{reply.content_type};charset=UTF-8")
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if reply.mode == "truncated":
            handler.wfile.write(reply.body[: len(reply.body) // 2])
            handler.close_connection = True
        else:
            handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up first (e.g. its timeout fired)


def _reset(handler: BaseHTTPRequestHandler) -> None:
    # Linger 0 makes close() send RST instead of FIN. The socket only really closes once the
    # handler's read file is closed too (it holds a reference to the fd).
    handler.close_connection = True
    sock = handler.connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.rfile.close()
    sock.close()
