"""Real receivers on loopback: a Slack-shaped webhook server and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class SlackAnswer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class SlackReceiver:
    """Answers like a Slack incoming webhook: 200 `ok`, or whatever is scripted next."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.script: deque[SlackAnswer] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    answer = receiver.script.popleft() if receiver.script else SlackAnswer()
                    if answer.status == 200:
                        receiver.posts.append(json.loads(raw))
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

    def close(self) -> None:
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
            return "451 4.3.0 try again later"
        msg = cast(EmailMessage, message_from_bytes(envelope.content or b"",
                                                    policy=policy.default))
        self.server.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1; `fail_next = N` answers the next N DATA commands with 451."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.fail_next = 0
        self.port = _free_port()  # aiosmtpd's start-up check cannot connect to port 0
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def close(self) -> None:
        self._controller.stop()
