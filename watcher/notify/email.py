"""SMTP email notifier: multipart/alternative text and HTML, TLS unless told otherwise."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from watcher.clock import Clock, SystemClock
from watcher.config import EmailChannel
from watcher.notify.base import DeliveryError, Item
from watcher.redact import Redactor
from watcher.render import Renderer


class EmailNotifier:
    def __init__(self, channel: EmailChannel, renderer: Renderer,
                 tls_context: ssl.SSLContext | None = None, *,
                 clock: Clock | None = None) -> None:
        self.name = channel.name
        self._ch = channel
        self._renderer = renderer
        self._tls = tls_context or ssl.create_default_context()
        self._clock = clock or SystemClock()
        self._redact = Redactor([channel.password or ""])

    def message(self, item: Item) -> EmailMessage:
        """The full message; the subject is one line whatever the outside text holds."""
        parts = self._renderer.email(item)
        msg = EmailMessage()
        # the renderer already folds white space; this is the last guard for a header
        msg["Subject"] = " ".join(parts.subject.split())
        msg["From"] = self._ch.sender
        msg["To"] = ", ".join(self._ch.to)
        msg["Date"] = format_datetime(self._clock.now())
        msg["Message-ID"] = make_msgid(domain=self._ch.sender.rpartition("@")[2] or None)
        msg.set_content(parts.text)
        msg.add_alternative(parts.html, subtype="html")
        return msg

    def send(self, item: Item, *, skip_parts: int = 0) -> str:
        """Send one message to every recipient; 'accepted' only once DATA got a 2xx."""
        msg = self.message(item)
        try:
            with self._connect() as smtp:
                if self._ch.username:
                    smtp.login(self._ch.username, self._ch.password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"smtp refused every recipient: {exc.recipients}",
                                permanent=all(500 <= c < 600 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(self._redact(f"smtp {exc.smtp_code}: {text}"),
                                permanent=500 <= exc.smtp_code < 600) from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. AUTH not offered: a config fault
            raise DeliveryError(f"smtp: {exc}", permanent=True) from None
        except ssl.SSLCertVerificationError as exc:  # retrying will not make it trusted
            raise DeliveryError(f"smtp: TLS certificate not trusted: {exc.verify_message}",
                                permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(self._redact(f"smtp: {type(exc).__name__}: {exc}"),
                                permanent=False) from None
        if refused:
            return f"accepted, but refused for {sorted(refused)}"
        return f"accepted for {len(self._ch.to)} recipient(s)"

    def _connect(self) -> smtplib.SMTP:
        ch = self._ch
        if ch.security == "ssl":
            return smtplib.SMTP_SSL(ch.host, ch.port, timeout=ch.timeout_s, context=self._tls)
        smtp = smtplib.SMTP(ch.host, ch.port, timeout=ch.timeout_s)
        if ch.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                smtp.close()
                # never fall back to clear text silently: that is what security: none is for
                raise DeliveryError(f"{ch.host}:{ch.port} does not offer STARTTLS; "
                                    "set security: none to send in clear", permanent=True)
            smtp.starttls(context=self._tls)
        return smtp
