"""The email notifier against aiosmtpd on loopback: STARTTLS, implicit TLS, AUTH, headers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
from collections.abc import Iterator

import pytest
import trustme

from tests.receivers import SmtpReceiver
from watcher.clock import FixedClock
from watcher.config import EmailChannel
from watcher.notify import DeliveryError
from watcher.notify.email import EmailNotifier
from watcher.render import Renderer
from watcher.render.sample import sample_alert, sample_digest

NOW = dt.datetime(2025, 12, 8, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


def _client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()  # full verification, as in production
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def tls_smtp(ca: trustme.CA) -> Iterator[SmtpReceiver]:
    r = SmtpReceiver(tls=_server_ctx(ca), users={"watcher": "s3cret"})
    yield r
    r.close()


def _channel(port: int, security: str, **kw: object) -> EmailChannel:
    base = EmailChannel("mail", "127.0.0.1", port, security, "watcher@example.com",
                        ("a@example.com", "b@example.com"))
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_starttls_with_login_reaches_every_recipient(tls_smtp: SmtpReceiver,
                                                     ca: trustme.CA) -> None:
    ch = _channel(tls_smtp.port, "starttls", username="watcher", password="s3cret")
    answer = EmailNotifier(ch, Renderer(), _client_ctx(ca), clock=FixedClock(NOW)).send(
        sample_alert())
    assert answer == "accepted for 2 recipient(s)"
    assert tls_smtp.logins == ["watcher"]
    (rcpts, msg), = tls_smtp.messages
    assert rcpts == ["a@example.com", "b@example.com"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg["Date"] == "Mon, 08 Dec 2025 02:00:00 +0000"


def test_implicit_tls(ca: trustme.CA) -> None:
    r = SmtpReceiver(tls=_server_ctx(ca), mode="ssl")
    try:
        EmailNotifier(_channel(r.port, "ssl"), Renderer(), _client_ctx(ca)).send(sample_alert())
        assert len(r.messages) == 1
    finally:
        r.close()


def test_an_untrusted_certificate_is_refused_for_good(tls_smtp: SmtpReceiver) -> None:
    ch = _channel(tls_smtp.port, "starttls", username="watcher", password="s3cret")
    with pytest.raises(DeliveryError) as err:
        EmailNotifier(ch, Renderer()).send(sample_alert())  # system trust store only
    assert err.value.permanent and "not trusted" in str(err.value)
    assert tls_smtp.messages == []


def test_never_falls_back_to_clear_text(smtp: SmtpReceiver) -> None:
    with pytest.raises(DeliveryError) as err:
        EmailNotifier(_channel(smtp.port, "starttls"), Renderer()).send(sample_alert())
    assert err.value.permanent and "security: none" in str(err.value)
    assert smtp.messages == []


def test_wrong_password_is_permanent_and_not_echoed(tls_smtp: SmtpReceiver,
                                                    ca: trustme.CA) -> None:
    ch = _channel(tls_smtp.port, "starttls", username="watcher", password="wrong-pw")
    with pytest.raises(DeliveryError) as err:
        EmailNotifier(ch, Renderer(), _client_ctx(ca)).send(sample_alert())
    assert err.value.permanent and "535" in str(err.value)
    assert "wrong-pw" not in str(err.value)


def test_a_newline_in_outside_text_never_reaches_a_header(smtp: SmtpReceiver) -> None:
    hostile = dataclasses.replace(sample_alert(), kol_name="Eve\r\nBcc: victim@example.com")
    EmailNotifier(_channel(smtp.port, "none"), Renderer()).send(hostile)
    (rcpts, msg), = smtp.messages
    assert rcpts == ["a@example.com", "b@example.com"] and msg["Bcc"] is None
    assert "Eve Bcc: victim@example.com" in msg["Subject"]


def test_connection_refused_is_transient() -> None:
    from tests.receivers import _free_port

    with pytest.raises(DeliveryError) as err:
        EmailNotifier(_channel(_free_port(), "none"), Renderer()).send(sample_alert())
    assert not err.value.permanent


def test_digest_email(smtp: SmtpReceiver) -> None:
    EmailNotifier(_channel(smtp.port, "none"), Renderer()).send(sample_digest())
    (_, msg), = smtp.messages
    assert "2 follower anomalies" in msg["Subject"]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.index("Sample Creator") < html.index("Another Creator")
