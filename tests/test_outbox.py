"""The durable outbox: dedup, escalation, cooldown, per-channel status, retries, restarts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.receivers import SlackAnswer, SlackReceiver, SmtpReceiver
from watcher.clock import FixedClock
from watcher.config import Config, parse_config
from watcher.model import Alert
from watcher.notify import Notifier, build_notifiers
from watcher.outbox import FlushReport, flush, queue_alerts
from watcher.render import Renderer
from watcher.render.sample import sample_alert
from watcher.store import Store

T = dt.datetime(2025, 12, 8, 2, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _alert(score: float = 42.0, day_offset: int = 0, direction: str = "spike",
           user_id: str = "5b1f0c2e000000000100a1b2") -> Alert:
    base = sample_alert()
    f = dataclasses.replace(base.finding, score=score, user_id=user_id,
                            day=base.finding.day + dt.timedelta(days=day_offset),
                            direction=direction)  # type: ignore[arg-type]
    return dataclasses.replace(base, user_id=user_id, finding=f)


def _config(slack: SlackReceiver, smtp: SmtpReceiver, tmp_path: Path, extra: str = "") -> Config:
    return parse_config(f"""
api: {{token: t}}
storage: {{path: {tmp_path / "w.db"}}}
notify:
  channels:
    - {{name: team, type: slack, webhook_url: "{slack.url}"}}
    - {{name: mail, type: email, host: 127.0.0.1, port: {smtp.port}, security: none,
       from: watcher@example.com, to: [a@example.com, b@example.com]}}
{extra}
watchlist:
  - {{user_id: 5b1f0c2e000000000100a1b2, name: One, tags: [beauty]}}
  - {{user_id: 5b1f0c2e000000000100a1b3, name: Two}}
""", str(tmp_path / "config.yaml"))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def notifiers_for(sleeps: list[float], clock: FixedClock
                  ) -> Callable[[Config], dict[str, Notifier]]:
    def build(cfg: Config) -> dict[str, Notifier]:
        return build_notifiers(cfg.channels, Renderer(), sleep=sleeps.append,
                               monotonic=lambda: 0.0, clock=clock)
    return build


@dataclasses.dataclass
class Box:
    """A config wired to the Slack and SMTP receivers, its store, notifiers and clock."""

    cfg: Config
    store: Store
    notifiers: dict[str, Notifier]
    clock: FixedClock

    def flush(self, **kwargs: Any) -> FlushReport:
        return flush(self.store, self.notifiers, self.clock, **kwargs)


@pytest.fixture
def box(tmp_path: Path, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
        notifiers_for: Callable[[Config], dict[str, Notifier]]) -> Box:
    cfg = _config(slack, smtp, tmp_path)
    return Box(cfg, Store(cfg.storage.path), notifiers_for(cfg), clock)


# which alerts -----------------------------------------------------------------------------

def test_same_event_never_realerts_unless_it_escalates(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.queue_alert(_alert(10), ["a"], T) is not None
    assert store.queue_alert(_alert(10), ["a"], T + HOUR) is None  # re-polled window
    assert store.queue_alert(_alert(14, day_offset=1), ["a"], T + DAY) is None  # continuing
    assert store.queue_alert(_alert(15, day_offset=2), ["a"], T + 2 * DAY) is not None
    assert store.queue_alert(_alert(-30, direction="drop"), ["a"], T + 5 * DAY) is not None
    assert len(store.deliveries()) == 3
    first, escalated = (store.due_deliveries(T + 2 * DAY)[i].item() for i in (0, 1))
    assert isinstance(first, Alert) and first.previous_score is None
    assert isinstance(escalated, Alert) and escalated.previous_score == 10  # what it grew from


def test_an_escalation_says_what_it_grew_from() -> None:
    r = Renderer()
    again = dataclasses.replace(_alert(30), previous_score=12.0)
    assert "up from 12.0" in r.text(again)
    assert "(escalated)" in r.email(again).subject
    assert "*escalated* from score 12.0" in r.slack(again)["blocks"][1]["text"]["text"]
    assert "escalated" not in r.text(_alert(30))


def test_cooldown_holds_a_second_event_back_until_it_expires(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    cool = dt.timedelta(hours=24)
    assert store.queue_alert(_alert(10), ["a"], T, cooldown=cool) is not None
    drop = _alert(-20, direction="drop")
    assert store.queue_alert(drop, ["a"], T + 6 * HOUR, cooldown=cool) is None
    # another KOL is not affected
    other = _alert(9, user_id="5b1f0c2e000000000100a1b3")
    assert store.queue_alert(other, ["a"], T + 6 * HOUR, cooldown=cool) is not None
    # held, not lost: a daily cycle that starts a little earlier than yesterday's sends it
    assert store.queue_alert(drop, ["a"], T + DAY - dt.timedelta(seconds=40),
                             cooldown=cool) is not None
    assert store.queue_alert(drop, ["a"], T + 3 * DAY, cooldown=cool) is None  # said already


def test_digest_is_one_row_per_channel_ranked_by_score(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    weak, strong = _alert(8), _alert(-30, direction="drop", user_id="5b1f0c2e000000000100a1b3")
    digest_id, admitted = store.queue_digest("r", [weak, strong], ["a", "b"], T)
    assert digest_id is not None and len(admitted) == 2
    (d, _) = store.due_deliveries(T)
    item = d.item()
    assert d.kind == "digest" and [a.finding.score for a in item.alerts] == [-30, 8]  # type: ignore[union-attr]
    assert store.queue_digest("r", [weak, strong], ["a", "b"], T + HOUR) == (None, [])


def test_queue_alerts_routes_and_digests(tmp_path: Path, slack: SlackReceiver,
                                         smtp: SmtpReceiver) -> None:
    cfg = _config(slack, smtp, tmp_path, """
  routes:
    - {tags: [beauty], channels: [team], group: digest}
    - {channels: [mail]}""")
    store = Store(cfg.storage.path)
    one, two = _alert(8), _alert(-30, direction="drop", user_id="5b1f0c2e000000000100a1b3")
    queued = queue_alerts(cfg, store, [one, two], T)
    assert [a.user_id for a in queued] == [two.user_id, one.user_id]  # strongest first
    rows = store.deliveries()
    assert sorted((r["kind"], r["channel"]) for r in rows) == [("anomaly", "mail"),
                                                               ("digest", "team")]


# delivery ---------------------------------------------------------------------------------

def test_each_channel_has_its_own_status_and_retries_with_backoff(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["team", "mail"], clock.now())
    slack.script.append(SlackAnswer(500, "rollup_error"))
    report = box.flush()
    assert len(smtp.messages) == 1 and slack.posts == []
    assert [r["status"] for r in store.deliveries()] == ["pending", "sent"]
    assert "500: rollup_error" in store.deliveries()[0]["last_error"]
    assert len(report.retrying) == 1
    assert box.flush().sent == []  # not due yet: backoff
    clock.advance(dt.timedelta(minutes=1))
    box.flush()
    assert len(slack.posts) == 1 and len(smtp.messages) == 1  # the email is not sent again
    assert [r["status"] for r in store.deliveries()] == ["sent", "sent"]


def test_slack_429_honours_retry_after(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["team"], clock.now())
    slack.script.append(SlackAnswer(429, "rate_limited", {"Retry-After": "600"}))
    box.flush()
    (row,) = store.deliveries()
    assert row["next_attempt_at"] == (clock.now() + dt.timedelta(seconds=600)).isoformat()
    clock.advance(dt.timedelta(seconds=599))
    assert box.flush().sent == []
    clock.advance(dt.timedelta(seconds=1))
    assert len(box.flush().sent) == 1


@pytest.mark.parametrize("status,body", [(404, "no_service"), (403, "invalid_token"),
                                         (410, "channel_is_archived"),
                                         (500, "channel_is_archived")])
def test_permanent_slack_failure_is_kept_and_reported_to_ops(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock, status: int, body: str,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["team"], clock.now())
    slack.script.append(SlackAnswer(status, body))
    report = box.flush(ops_channels=["team", "mail"])
    (failed,) = store.deliveries("failed")
    assert body in failed["last_error"] and failed["channel"] == "team"
    assert len(report.failed) == 1
    # the notice went to the other ops channel in the same flush, and says what happened
    (_, msg), = smtp.messages
    assert "cannot be delivered to team" in msg["Subject"]
    assert body in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_smtp_451_is_retried_then_delivered_once(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["mail"], clock.now())
    smtp.fail_next = 1
    box.flush()
    (row,) = store.deliveries()
    assert row["status"] == "pending" and "451" in row["last_error"]
    clock.advance(dt.timedelta(minutes=1))
    box.flush()
    assert len(smtp.messages) == 1 and store.deliveries()[0]["status"] == "sent"


def test_smtp_5xx_is_permanent(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["mail"], clock.now())
    smtp.fail_next, smtp.fail_code = 1, "554 5.7.1 rejected as spam"
    box.flush(ops_channels=["team"])
    assert "554" in store.deliveries("failed")[0]["last_error"]
    assert "cannot be delivered to mail" in slack.posts[0]["text"]


def test_transient_failures_give_up_after_the_age_limit(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["team"], clock.now())
    slack.script.extend(SlackAnswer(503, "busy") for _ in range(40))
    for _ in range(30):
        box.flush(ops_channels=[])
        clock.advance(HOUR)
    (row,) = store.deliveries()
    assert row["status"] == "failed" and "gave up" in row["last_error"]
    assert 20 < row["attempts"] < 30  # backoff capped at an hour, over 24 hours


def test_pending_rows_survive_a_restart(
    tmp_path: Path, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
    notifiers_for: Callable[[Config], dict[str, Notifier]],
) -> None:
    cfg = _config(slack, smtp, tmp_path)
    first = Store(cfg.storage.path)
    first.queue_alert(_alert(), ["team", "mail"], clock.now())
    first.close()  # as if the process ended before delivering
    again = Store(cfg.storage.path)
    flush(again, notifiers_for(cfg), clock)
    assert len(slack.posts) == 1 and len(smtp.messages) == 1
    assert flush(again, notifiers_for(cfg), clock).sent == []


def test_a_split_digest_never_reposts_accepted_messages(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock, sleeps: list[float],
) -> None:
    store = box.store
    alerts = [_alert(10 + i, user_id=f"{i:024x}") for i in range(60)]
    store.queue_digest("all", alerts, ["team"], clock.now())
    slack.script.extend([SlackAnswer(), SlackAnswer(500, "oops")])
    box.flush()
    assert len(slack.posts) == 1
    assert store.deliveries()[0]["parts_done"] == 1
    clock.advance(dt.timedelta(minutes=1))
    box.flush()
    headers = [p["blocks"][0]["text"]["text"] for p in slack.posts]
    assert [h[-5:] for h in headers] == ["(1/3)", "(2/3)", "(3/3)"]
    assert all(len(p["blocks"]) <= 50 for p in slack.posts)
    texts = " ".join(b["text"]["text"] for p in slack.posts for b in p["blocks"][1:]
                     if b["type"] == "section")
    assert texts.index("score 69.0") < texts.index("score 10.0")  # ranked
    # one message a second per webhook, through the injected sleep: monotonic stands still,
    # so each post after the first waits, across flushes too (the notifier keeps its pace)
    assert sleeps == [1.0, 1.0, 1.0]


def test_two_flushes_never_send_one_delivery_twice(
    tmp_path: Path, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
    notifiers_for: Callable[[Config], dict[str, Notifier]],
) -> None:
    cfg = _config(slack, smtp, tmp_path)
    Store(cfg.storage.path).queue_alert(_alert(), ["team"], clock.now())
    slack.script.append(SlackAnswer(stall=True))  # the first flush is mid-send...
    first = threading.Thread(target=flush, args=(Store(cfg.storage.path), notifiers_for(cfg),
                                                 clock))
    first.start()
    try:
        assert slack.stalled.wait(10)
        # ...when another process (a manual `watcher check`, say) flushes the same file
        other = flush(Store(cfg.storage.path), notifiers_for(cfg), clock)
        assert other.sent == [] and slack.attempts == 1
    finally:
        slack.release()
        first.join(20)
    (row,) = Store(cfg.storage.path).deliveries()
    assert row["status"] == "pending" and row["attempts"] == 1  # unanswered: retried later


def test_a_claim_by_a_dead_process_is_void(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.queue_alert(_alert(), ["a"], T)
    (due,) = store.due_deliveries(T)
    assert store.claim(due.id, f"{2 ** 30}:gone", T) is not None  # no such process
    assert store.claim(due.id, f"{os.getpid()}:mine", T) is not None  # taken over at once
    assert store.claim(due.id, f"{os.getpid()}:another", T) is None  # a live claim holds
    later = T + dt.timedelta(minutes=11)
    assert store.claim(due.id, f"{os.getpid()}:another", later) is not None  # lease over


def test_every_channel_that_fails_for_good_is_reported(
    box: Box, slack: SlackReceiver, smtp: SmtpReceiver, clock: FixedClock,
) -> None:
    store = box.store
    store.queue_alert(_alert(), ["team", "mail"], clock.now())
    slack.script.append(SlackAnswer(404, "no_service"))
    smtp.fail_next, smtp.fail_code = 1, "554 5.7.1 no"
    box.flush(ops_channels=["team", "mail"])
    # each failure went to the other channel, and both were accepted there
    assert [p["text"] for p in slack.posts] == ["watcher: Alerts cannot be delivered to mail"]
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[watcher] Alerts cannot be delivered to team"]
