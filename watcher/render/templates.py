"""Jinja2 rendering of alerts and notices into Slack, email and console text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from watcher.model import Alert, Notice
from watcher.render.context import alert_context, notice_context

PARTS = ("slack", "text", "subject", "html")
KINDS = ("anomaly", "ops")
SLACK_SECTION_MAX = 3000  # Block Kit: a section's text holds at most 3000 characters
SLACK_HEADER_MAX = 150


@dataclass(frozen=True)
class EmailParts:
    subject: str
    text: str
    html: str


def escape_mrkdwn(value: Any) -> Any:
    """Slack's escaping (&, <, >) applied to every string in a context, recursively."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, list):
        return [escape_mrkdwn(v) for v in value]
    if isinstance(value, dict):
        return {k: escape_mrkdwn(v) for k, v in value.items()}
    return value


class Renderer:
    """Packaged templates in watcher/templates, overridden file by file from `templates_dir`."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("watcher", "templates")]
        if templates_dir is not None:
            loaders.insert(0, jinja2.FileSystemLoader(str(templates_dir)))
        loader = jinja2.ChoiceLoader(loaders)
        common: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined,
                                  "keep_trailing_newline": False, "trim_blocks": True,
                                  "lstrip_blocks": True}
        # Slack text is escaped in the context (escape_mrkdwn), so this one does not autoescape
        self._text = jinja2.Environment(autoescape=False, **common)
        self._html = jinja2.Environment(autoescape=True, **common)

    def _render(self, item: Alert | Notice, part: str, ctx: dict[str, Any]) -> str:
        kind = "anomaly" if isinstance(item, Alert) else "ops"
        env = self._html if part == "html" else self._text
        return env.get_template(f"{kind}.{part}.j2").render(ctx).strip()

    @staticmethod
    def context(item: Alert | Notice) -> dict[str, Any]:
        return alert_context(item) if isinstance(item, Alert) else notice_context(item)

    def text(self, item: Alert | Notice) -> str:
        """Plain text, for the console and the email's text part."""
        return self._render(item, "text", self.context(item))

    def email(self, item: Alert | Notice) -> EmailParts:
        """Subject (one line, whatever the outside text holds), text and HTML parts."""
        ctx = self.context(item)
        subject = " ".join(self._render(item, "subject", ctx).split())
        return EmailParts(subject, self._render(item, "text", ctx),
                          self._render(item, "html", ctx))

    def slack(self, item: Alert | Notice) -> dict[str, Any]:
        """A Block Kit payload with a plain-text fallback, within Slack's size limits."""
        ctx = escape_mrkdwn(self.context(item))
        body = self._render(item, "slack", ctx)
        # the first line of the template is the header (plain text: no mrkdwn, no escaping)
        header, _, rest = body.partition("\n")
        raw_header = header.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        fallback = header
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                        "text": _cut(raw_header, SLACK_HEADER_MAX)}},
        ]
        if rest.strip():
            blocks.append({"type": "section",
                           "text": {"type": "mrkdwn", "text": _cut(rest.strip(),
                                                                   SLACK_SECTION_MAX)}})
        return {"text": fallback, "blocks": blocks}

    def check(self) -> list[str]:
        """Render every template against a sample; the errors, empty when all is well."""
        from watcher.render.sample import sample_alert, sample_notice

        errors = []
        for item in (sample_alert(), sample_notice()):
            for render in (self.text, self.email, self.slack):
                try:
                    render(item)
                except jinja2.TemplateError as exc:
                    where = getattr(exc, "name", None) or getattr(exc, "filename", None) or ""
                    line = getattr(exc, "lineno", None)
                    errors.append(f"template {where}{f' line {line}' if line else ''}: "
                                  f"{type(exc).__name__}: {exc}")
        return sorted(set(errors))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
