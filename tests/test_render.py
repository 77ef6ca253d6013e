"""Rendering: outside text escaped for Slack mrkdwn and HTML, one-line subjects, templates."""

from __future__ import annotations

import dataclasses
import json

from watcher.render import Renderer
from watcher.render.sample import sample_alert, sample_notice
from watcher.render.sparkline import sparkline


def _hostile():  # type: ignore[no-untyped-def]
    return dataclasses.replace(sample_alert(), kol_name="<!channel> Tom & <@U123>\nBcc: x@y",
                               tags=("<script>",))


def test_slack_escapes_control_sequences_in_outside_text() -> None:
    payload = Renderer().slack(_hostile())
    # mrkdwn fields (fallback text, section) are escaped; the header is plain_text, which
    # Slack never parses for mentions, and a newline in a name cannot start a new line
    mrkdwn = json.dumps([payload["text"], payload["blocks"][1:]], ensure_ascii=False)
    assert "<!channel>" not in mrkdwn and "<@U123>" not in mrkdwn
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    assert "\n" not in payload["blocks"][0]["text"]["text"]
    section = payload["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt; Tom &amp; &lt;@U123&gt;" in section
    # our own link markup survives: it is the template's, not the outside text's
    assert "<https://www.xiaohongshu.com/user/profile/" in section
    assert payload["blocks"][0]["type"] == "header"
    assert len(payload["blocks"][0]["text"]["text"]) <= 150


def test_email_html_is_autoescaped_and_subject_is_one_line() -> None:
    parts = Renderer().email(_hostile())
    assert "<script>" not in parts.html and "&lt;script&gt;" in parts.html
    assert "&lt;!channel&gt; Tom &amp; &lt;@U123&gt;" in parts.html
    assert "\n" not in parts.subject and "\r" not in parts.subject
    assert "<!channel> Tom & <@U123>" in parts.text  # plain text stays as written


def test_alert_explains_itself() -> None:
    text = Renderer().text(sample_alert())
    for piece in ("+20,000", "+300", "66.7x", "score 42.0", "148,700", "%", "why:"):
        assert piece in text


def test_sparkline_marks_the_day_and_shows_gaps() -> None:
    assert sparkline([0, 5, 10], mark=2) == "▁█[█]"  # scaled on the other days
    # a spike does not flatten the usual weekly pattern; a drop sits at the bottom edge
    assert sparkline([10, 20, 10, 20, 5000], mark=4) == "▁█▁█[█]"
    assert sparkline([10, 20, 10, 20, -900], mark=4) == "▁█▁█[▁]"
    assert sparkline([3, 3, 3, 900], mark=3) == "▅▅▅[█]"
    assert sparkline([1, None, 1]) == "▅ ▅"
    assert sparkline([]) == ""


def test_packaged_templates_all_render() -> None:
    assert Renderer().check() == []


def test_notice_renders_everywhere() -> None:
    r = Renderer()
    assert "watcher test notice" in r.text(sample_notice())
    assert r.slack(sample_notice())["blocks"]


def _many(n: int):  # type: ignore[no-untyped-def]
    from watcher.model import Digest

    base = _hostile()
    return Digest("all", tuple(dataclasses.replace(base, user_id=f"{i:024x}") for i in range(n)))


def test_a_digest_stays_within_slack_limits_and_is_escaped() -> None:
    messages = Renderer().slack_messages(_many(120))
    assert len(messages) == 5  # an intro section and 120 alerts, 25 sections a message
    for m in messages:
        assert len(m["blocks"]) <= 50
        assert m["blocks"][0]["type"] == "header" and len(m["blocks"][0]["text"]["text"]) <= 150
        for b in m["blocks"][1:]:
            assert b["type"] == "divider" or len(b["text"]["text"]) <= 3000
    mrkdwn = json.dumps(messages, ensure_ascii=False)
    assert "<!channel>" not in mrkdwn and "<@U123>" not in mrkdwn and "<script>" not in mrkdwn


def test_a_long_section_is_split_between_lines() -> None:
    from watcher.model import Notice

    detail = "\n".join(f"line {i}: " + "x" * 90 for i in range(100))  # ~10,000 characters
    (message,) = Renderer().slack_messages(Notice("k", "long", detail))
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) == 4 and all(len(s) <= 3000 for s in sections)
    assert "\n".join(sections).count("line ") == 100


def test_templates_dir_overrides_one_template(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "anomaly.subject.j2").write_text("ALERT {{ name }} {{ increment }}")
    r = Renderer(tmp_path)
    assert r.email(sample_alert()).subject == "ALERT Sample Creator (test alert) +20,000"
    assert "Follower spike" in r.text(sample_alert())  # the others stay packaged
    assert r.check() == []


def test_a_broken_template_fails_the_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "anomaly.slack.j2").write_text("{{ name }} {{ no_such_value }}")
    (tmp_path / "digest.text.j2").write_text("{% for a in alerts %}")
    problems = Renderer(tmp_path).check()
    assert any("anomaly.slack.j2" in p and "no_such_value" in p for p in problems)
    assert any("digest.text.j2" in p for p in problems)
