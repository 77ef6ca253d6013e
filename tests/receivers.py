"""Real receivers on loopback: a Slack-shaped webhook server and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class SlackAnswer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer (until the receiver closes): the post is not accepted


class SlackReceiver:
    """Answers like a Slack incoming webhook: 200 `ok`, or whatever is scripted next."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.attempts = 0  # every POST, answered or not
        self.script: deque[SlackAnswer] = deque()
        self.stalled = threading.Event()  # set once a stalled request has arrived
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.attempts += 1
                    answer = receiver.script.popleft() if receiver.script else SlackAnswer()
                    if (answer.status, answer.body) == (200, "ok") and not answer.stall:
                        receiver.posts.append(json.loads(raw))
                if answer.stall:
                    receiver.stalled.set()
                    receiver._release.wait(30)
                    return
                body = answer.body.encode()
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/services/T0/B0/secretXYZ"

    def release(self) -> None:
        """Let stalled requests end (unanswered: the client sees the connection close)."""
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpReceiver) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.server.fail_next:
            self.server.fail_next -= 1
            return self.server.fail_code
        msg = cast(EmailMessage, message_from_bytes(envelope.content or b"",
                                                    policy=policy.default))
        self.server.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1; `fail_next = N` answers the next N DATA commands with 451
    (or `fail_code`). With `tls`, STARTTLS (`mode="starttls"`) or implicit TLS
    (`mode="ssl"`) with that server context; with `users`, AUTH LOGIN/PLAIN against them."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, mode: str = "starttls",
                 users: dict[str, str] | None = None) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.fail_next = 0
        self.fail_code = "451 4.3.0 try again later"
        self.logins: list[str] = []
        self.port = _free_port()  # aiosmtpd's start-up check cannot connect to port 0
        kwargs: dict[str, Any] = {}
        if tls is not None and mode == "ssl":
            kwargs.update(ssl_context=tls, server_hostname="localhost")
        elif tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if users is not None:
            kwargs.update(authenticator=self._authenticator(users), auth_required=True)
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                      **kwargs)
        self._controller.start()

    def _authenticator(self, users: dict[str, str]) -> Any:
        def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
            login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
            ok = isinstance(auth_data, LoginPassword) and \
                users.get(login) == auth_data.password.decode()
            if ok:
                self.logins.append(login)
            return AuthResult(success=ok, handled=False)

        return check

    def close(self) -> None:
        self._controller.stop()
