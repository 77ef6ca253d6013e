"""The Slack notifier against a Slack-shaped receiver: what counts as accepted, pacing."""

from __future__ import annotations

import pytest

from tests.receivers import SlackAnswer, SlackReceiver
from watcher.notify import DeliveryError
from watcher.notify.slack import Pacer, SlackNotifier
from watcher.render import Renderer
from watcher.render.sample import sample_alert


def _notifier(slack: SlackReceiver, sleeps: list[float] | None = None) -> SlackNotifier:
    pacer = Pacer(1.0, (sleeps if sleeps is not None else []).append, lambda: 0.0)
    return SlackNotifier("team", slack.url, Renderer(), pacer=pacer, timeout_s=5)


def test_only_200_ok_counts(slack: SlackReceiver) -> None:
    slack.script.append(SlackAnswer(200, "not ok"))
    with pytest.raises(DeliveryError) as err:
        _notifier(slack).send(sample_alert())
    assert not err.value.permanent
    assert _notifier(slack).send(sample_alert()) == "200 ok"
    assert len(slack.posts) == 1


@pytest.mark.parametrize("answer,permanent,retry_after", [
    (SlackAnswer(429, "rate_limited", {"Retry-After": "30"}), False, 30.0),
    (SlackAnswer(500, "internal_error"), False, None),
    (SlackAnswer(503, ""), False, None),
    (SlackAnswer(404, "no_service"), True, None),
    (SlackAnswer(403, "invalid_token"), True, None),
    (SlackAnswer(400, "invalid_payload"), True, None),
    (SlackAnswer(410, "channel_is_archived"), True, None),
])
def test_answers_are_classified(slack: SlackReceiver, answer: SlackAnswer, permanent: bool,
                                retry_after: float | None) -> None:
    slack.script.append(answer)
    with pytest.raises(DeliveryError) as err:
        _notifier(slack).send(sample_alert())
    assert (err.value.permanent, err.value.retry_after) == (permanent, retry_after)
    assert f"HTTP {answer.status}" in str(err.value)
    assert "secretXYZ" not in str(err.value)  # the webhook URL is the secret


def test_an_unreachable_webhook_is_transient_and_redacted() -> None:
    from tests.receivers import _free_port

    url = f"http://127.0.0.1:{_free_port()}/services/T0/B0/secretXYZ"
    n = SlackNotifier("team", url, Renderer(), pacer=Pacer(0), timeout_s=2)
    with pytest.raises(DeliveryError) as err:
        n.send(sample_alert())
    assert not err.value.permanent and "secretXYZ" not in str(err.value)


def test_pacing_is_one_message_a_second_per_webhook() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    pacer = Pacer(1.0, sleep, lambda: now[0])
    pacer.wait()
    now[0] += 0.25
    pacer.wait()
    now[0] += 5
    pacer.wait()
    assert sleeps == [0.75]


def test_channels_sharing_a_webhook_share_its_pace(slack: SlackReceiver) -> None:
    from watcher.config import SlackChannel
    from watcher.notify import build_notifiers

    sleeps: list[float] = []
    chans = (SlackChannel("a", slack.url), SlackChannel("b", slack.url))
    notifiers = build_notifiers(chans, Renderer(), sleep=sleeps.append, monotonic=lambda: 0.0)
    notifiers["a"].send(sample_alert())
    notifiers["b"].send(sample_alert())
    assert sleeps == [1.0] and len(slack.posts) == 2
