"""Jinja2 rendering of alerts and notices into Slack, email and console text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from watcher.model import Alert, Digest, Notice
from watcher.render.context import alert_context, digest_context, notice_context

Item = Alert | Digest | Notice
PARTS = ("slack", "text", "subject", "html")
KINDS = ("anomaly", "digest", "ops")
SLACK_SECTION_MAX = 3000  # Block Kit: a section's text holds at most 3000 characters
SLACK_HEADER_MAX = 150
SLACK_MAX_BLOCKS = 50  # per message
# a header, then sections with a divider between each: 1 + n + (n - 1) <= 50
SECTIONS_PER_MESSAGE = SLACK_MAX_BLOCKS // 2


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

    def _render(self, item: Item, part: str, ctx: dict[str, Any]) -> str:
        env = self._html if part == "html" else self._text
        return env.get_template(f"{kind_of(item)}.{part}.j2").render(ctx).strip()

    @staticmethod
    def context(item: Item) -> dict[str, Any]:
        """The template values for any item, outside text still raw."""
        if isinstance(item, Alert):
            return alert_context(item)
        return digest_context(item) if isinstance(item, Digest) else notice_context(item)

    def text(self, item: Item) -> str:
        """Plain text, for the console and the email's text part."""
        return self._render(item, "text", self.context(item))

    def email(self, item: Item) -> EmailParts:
        """Subject (one line, whatever the outside text holds), text and HTML parts."""
        ctx = self.context(item)
        subject = " ".join(self._render(item, "subject", ctx).split())
        return EmailParts(subject, self._render(item, "text", ctx),
                          self._render(item, "html", ctx))

    def slack(self, item: Item) -> dict[str, Any]:
        """The first (for a single alert, the only) Block Kit payload of `slack_messages`."""
        return self.slack_messages(item)[0]

    def slack_messages(self, item: Item) -> list[dict[str, Any]]:
        """Block Kit payloads with plain-text fallbacks, each within Slack's limits: a
        header, then mrkdwn sections (at most 3000 characters each) split across messages
        of at most 50 blocks. The template's first line is the header; a line `---`
        starts a new section."""
        ctx = escape_mrkdwn(self.context(item))
        body = self._render(item, "slack", ctx)
        header, _, rest = body.partition("\n")
        sections = [piece for chunk in re.split(r"(?m)^---[ \t]*$", rest)
                    for piece in _fit(chunk.strip(), SLACK_SECTION_MAX) if piece]
        groups = [sections[i:i + SECTIONS_PER_MESSAGE]
                  for i in range(0, len(sections), SECTIONS_PER_MESSAGE)] or [[]]
        out = []
        for n, group in enumerate(groups, 1):
            part = f" ({n}/{len(groups)})" if len(groups) > 1 else ""
            # the header is plain_text: Slack never parses it, so it is shown unescaped
            plain = _unescape(header)
            blocks: list[dict[str, Any]] = [
                {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                            "text": _cut(plain, SLACK_HEADER_MAX - len(part))
                                            + part}}]
            for i, text in enumerate(group):
                if i:
                    blocks.append({"type": "divider"})
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            out.append({"text": header + part, "blocks": blocks})
        return out

    def check(self) -> list[str]:
        """Render every template against a sample; the errors, empty when all is well."""
        from watcher.render.sample import sample_alert, sample_digest, sample_notice

        errors = []
        for item in (sample_alert(), sample_notice(), sample_digest()):
            for part in PARTS:
                name = f"{kind_of(item)}.{part}.j2"
                ctx = self.context(item)
                try:
                    self._render(item, part, escape_mrkdwn(ctx) if part == "slack" else ctx)
                except jinja2.TemplateError as exc:
                    line = getattr(exc, "lineno", None) or _template_line(exc)
                    errors.append(f"template {name}{f' line {line}' if line else ''}: "
                                  f"{type(exc).__name__}: {exc}")
        return sorted(set(errors))


def _template_line(exc: BaseException) -> int | None:
    """The template line a render error came from: Jinja puts template frames in the
    traceback under the template's file name."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def kind_of(item: Item) -> str:
    """The template family: anomaly, digest or ops."""
    if isinstance(item, Alert):
        return "anomaly"
    return "digest" if isinstance(item, Digest) else "ops"


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _fit(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, broken between lines if possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = _cut(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
