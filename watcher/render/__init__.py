"""Alert rendering: pure functions from data to text, via packaged Jinja2 templates."""

from watcher.render.templates import EmailParts, Renderer, escape_mrkdwn

__all__ = ["EmailParts", "Renderer", "escape_mrkdwn"]
